//! Weights files: PyTorch's `state_dict` names, round trips of the training and folded types
//! (f32 and f64), a `LoadError` for every kind of mismatch, and a seeded, deterministic fuzz
//! run of random and mutated files that must each be an error and never a panic.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bn_core::typenum::U8;
use bn_core::{Batch, LoadError, Rng, Sgd, StateDict, Trainer};

bn_core::network! {
    /// Every layer kind: named layers, a bias-less dense, an explicit bias before BN, a BN
    /// after an activation (folded into the next dense) and one between two activations
    /// (an affine layer of the folded model), every BN option.
    pub struct Every {
        input: 5,
        fc1: dense(6), batchnorm, relu,
        dense(6, bias), norm: batchnorm(eps = 1e-3), tanh,
        batchnorm(momentum = cumulative), sigmoid,
        dense(4, no_bias), relu,
        batchnorm(momentum = 0.5),
        head: dense(3),
    }
}

bn_core::network! {
    /// `Every` in f64.
    pub struct Every64 {
        input: 5,
        scalar: f64,
        fc1: dense(6), batchnorm, relu,
        dense(6, bias), norm: batchnorm(eps = 1e-3), tanh,
        batchnorm(momentum = cumulative), sigmoid,
        dense(4, no_bias), relu,
        batchnorm(momentum = 0.5),
        head: dense(3),
    }
}

bn_core::network! {
    /// A BN that cannot fold at all: between two activations, with no dense layer anywhere
    /// near (the folded model's first layer is an affine one).
    pub struct Lonely { input: 3, relu, batchnorm, tanh, dense(2) }
}

bn_core::network! {
    /// Compiled in by a `cfg` that holds.
    #[cfg(all())]
    pub struct Kept { input: 2, dense(2), batchnorm, relu, dense(1) }
}

#[test]
fn cfg_attributes_apply_to_the_weights_file_items() {
    let kept = Kept::new(1);
    assert_eq!(*Kept::load_safetensors(&kept.save_safetensors()).unwrap(), kept);
    let folded = kept.fold();
    assert_eq!(*KeptFolded::load_safetensors(&folded.save_safetensors()).unwrap(), folded);
}

/// The tensors of a model, as `name [shape]`.
fn names<M: StateDict>(m: &M) -> Vec<String> {
    let mut out = Vec::new();
    m.visit(&mut |name, t| out.push(format!("{name} {:?}", t.shape())));
    out
}

/// `Every` trained for a few steps: population statistics, batch counts, γ and β are all
/// away from their initial values.
fn trained() -> Box<Every> {
    let mut net = Every::new_boxed(3);
    let mut trainer = Trainer::<Every, U8>::new_boxed();
    let mut rng = Rng::seed(11);
    let mut x = Batch::<U8, _>::default();
    for _ in 0..5 {
        for v in x.iter_mut().flatten() {
            *v = rng.normal() as f32 * 2.0 + 0.5;
        }
        let labels = core::array::from_fn::<usize, 8, _>(|i| i % 3).into();
        net.train_step(&x, &labels, &bn_core::SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    }
    assert_eq!(net.batchnorm1.num_batches_tracked, 5);
    net
}

#[test]
fn names_are_those_of_the_pytorch_sequential() {
    let net = Every::new(1);
    assert_eq!(
        names(&net),
        [
            "fc1.weight [6, 5]",
            "1.weight [6]",
            "1.bias [6]",
            "1.running_mean [6]",
            "1.running_var [6]",
            "1.num_batches_tracked []",
            "3.weight [6, 6]",
            "3.bias [6]",
            "norm.weight [6]",
            "norm.bias [6]",
            "norm.running_mean [6]",
            "norm.running_var [6]",
            "norm.num_batches_tracked []",
            "6.weight [6]",
            "6.bias [6]",
            "6.running_mean [6]",
            "6.running_var [6]",
            "6.num_batches_tracked []",
            "8.weight [4, 6]",
            "10.weight [4]",
            "10.bias [4]",
            "10.running_mean [4]",
            "10.running_var [4]",
            "10.num_batches_tracked []",
            "head.weight [3, 4]",
            "head.bias [3]",
        ]
    );
    // Folded: fc1 (+BN 1), relu, dense 3 (+norm), tanh, BN 6 as a diagonal Linear, sigmoid,
    // dense 8, relu, head (+BN 10 before it).
    assert_eq!(
        names(&net.fold()),
        [
            "fc1.weight [6, 5]",
            "fc1.bias [6]",
            "2.weight [6, 6]",
            "2.bias [6]",
            "4.weight [6, 6]",
            "4.bias [6]",
            "6.weight [4, 6]",
            "6.bias [4]",
            "head.weight [3, 4]",
            "head.bias [3]",
        ]
    );
    assert_eq!(names(&Lonely::new(1).fold()), ["1.weight [3, 3]", "1.bias [3]", "3.weight [2, 3]", "3.bias [2]"]);
}

#[test]
fn training_type_round_trips_exactly() {
    let net = trained();
    let bytes = net.save_safetensors();
    let back = Every::load_safetensors(&bytes).unwrap();
    assert_eq!(*back, *net);
    // ε and momentum come from the declaration, not the file.
    assert_eq!(back.norm.eps, 1e-3);
    assert_eq!(back.batchnorm6.momentum, bn_core::Momentum::Cumulative);
    let mut into = Every::new_boxed(99);
    into.load_safetensors_into(&bytes).unwrap();
    assert_eq!(*into, *net);
    // Saving is deterministic.
    assert_eq!(back.save_safetensors(), bytes);
}

#[test]
fn folded_type_round_trips_exactly() {
    let folded = trained().fold_boxed();
    let bytes = folded.save_safetensors();
    assert_eq!(*EveryFolded::load_safetensors(&bytes).unwrap(), *folded);
    let lonely = Lonely::new(5).fold();
    assert_eq!(*LonelyFolded::load_safetensors(&lonely.save_safetensors()).unwrap(), lonely);
}

#[test]
fn f64_networks_round_trip_and_convert() {
    let net = trained();
    // An f32 file loads into the f64 network exactly (every f32 is an f64).
    let wide = Every64::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(wide.fc1.weight[2][3], f64::from(net.fc1.weight[2][3]));
    assert_eq!(wide.norm.running_var[1], f64::from(net.norm.running_var[1]));
    assert_eq!(wide.batchnorm1.num_batches_tracked, 5);
    // f64 round trip, and the f64 file back into f32 (rounded to nearest: exact here).
    let bytes = wide.save_safetensors();
    assert_eq!(*Every64::load_safetensors(&bytes).unwrap(), *wide);
    assert_eq!(*Every::load_safetensors(&bytes).unwrap(), *net);
    let folded = wide.fold();
    assert_eq!(*Every64Folded::load_safetensors(&folded.save_safetensors()).unwrap(), folded);
}

#[test]
fn paper_sized_load_uses_no_stack_temporaries() {
    bn_core::network! {
        pub struct Paper {
            input: 784,
            dense(100), batchnorm, sigmoid,
            dense(100), batchnorm, sigmoid,
            dense(100), batchnorm, sigmoid,
            dense(10),
        }
    }
    let bytes = Paper::new_boxed(1).save_safetensors();
    let folded_bytes = Paper::new_boxed(1).fold_boxed().save_safetensors();
    assert!(core::mem::size_of::<Paper>() > 300_000);
    // A 192 KiB stack is smaller than the model: loading must build it on the heap.
    std::thread::Builder::new()
        .stack_size(192 * 1024)
        .spawn(move || {
            let net = Paper::load_safetensors(&bytes).unwrap();
            assert_eq!(net.save_safetensors(), bytes);
            let folded = PaperFolded::load_safetensors(&folded_bytes).unwrap();
            assert_eq!(folded.save_safetensors(), folded_bytes);
        })
        .unwrap()
        .join()
        .unwrap();
}

// ---- errors ----

/// The header (JSON) of a file, and where it ends.
fn header(bytes: &[u8]) -> (String, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(), 8 + n)
}

/// `bytes` with its header replaced by `new` (padded to keep the data in place when shorter).
fn with_header(bytes: &[u8], new: &str) -> Vec<u8> {
    let (_, end) = header(bytes);
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    out
}

/// A header entry of tensor `name` (`"name":{...}`), as the file has it.
fn entry<'a>(header: &'a str, name: &str) -> &'a str {
    let start = header.find(&format!("\"{name}\":")).unwrap_or_else(|| panic!("{name} in {header}"));
    let end = start + header[start..].find('}').unwrap() + 1;
    &header[start..end]
}

/// Loads `bytes` into a copy of `net`; asserts that the copy is unchanged, and returns the
/// error's message.
fn load_error(net: &Every, bytes: &[u8]) -> String {
    let mut target = Box::new(net.clone());
    let err = target.load_safetensors_into(bytes).unwrap_err();
    assert_eq!(*target, *net, "a failed load left the model changed ({err})");
    assert!(Every::load_safetensors(bytes).is_err());
    err.to_string()
}

#[test]
fn every_mismatch_is_an_error_that_names_the_tensor() {
    let net = trained();
    let good = net.save_safetensors();
    let (h, _) = header(&good);

    // Missing: rename a tensor (same length, so the offsets stay valid).
    let renamed = with_header(&good, &h.replace("\"3.bias\"", "\"7.bias\""));
    assert_eq!(load_error(&net, &renamed), "missing tensor `3.bias`");

    // Unexpected: every tensor, plus one more, as PyTorch would have for a dense with a bias.
    let other = Every::load_safetensors(&good).unwrap();
    let mut extra = other.save_safetensors();
    let (eh, end) = header(&extra);
    let data_len = extra.len() - end;
    let grown = eh.trim_end().strip_suffix('}').unwrap().to_string()
        + &format!(",\"8.bias\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[{data_len},{}]}}}}", data_len + 16);
    extra = with_header(&extra, &grown);
    extra.extend_from_slice(&[0u8; 16]);
    assert_eq!(load_error(&net, &extra), "unexpected tensor `8.bias`: the model has no such tensor");

    // Wrong shape: a network of other widths.
    bn_core::network! {
        struct Wider {
            input: 5,
            fc1: dense(7), batchnorm, relu,
            dense(6, bias), norm: batchnorm(eps = 1e-3), tanh,
            batchnorm(momentum = cumulative), sigmoid,
            dense(4, no_bias), relu,
            batchnorm(momentum = 0.5),
            head: dense(3),
        }
    }
    assert_eq!(
        load_error(&net, &Wider::new(1).save_safetensors()),
        "tensor `fc1.weight` has shape [7, 5], but the model expects [6, 5]"
    );

    // Wrong dtype: I32 has the size of F32, so only the dtype is wrong.
    let e = entry(&h, "head.bias");
    let as_i32 = with_header(&good, &h.replace(e, &e.replace("F32", "I32")));
    assert_eq!(load_error(&net, &as_i32), "tensor `head.bias` has dtype I32, but the model accepts F32 or F64");
    let e = entry(&h, "norm.num_batches_tracked");
    let as_f64 = with_header(&good, &h.replace(e, &e.replace("I64", "F64")));
    assert_eq!(
        load_error(&net, &as_f64),
        "tensor `norm.num_batches_tracked` has dtype F64, but the model accepts I64 or I32"
    );

    // Truncated, and trailing bytes.
    assert_eq!(
        load_error(&net, &good[..good.len() - 3]),
        format!("truncated file: the header describes {} bytes, the file has {}", good.len(), good.len() - 3)
    );
    assert_eq!(
        load_error(&net, &good[..20]),
        format!("truncated file: the header describes {} bytes, the file has 20", h.len() + 8)
    );
    let mut longer = good.clone();
    longer.push(0);
    assert!(load_error(&net, &longer).contains("1 extra bytes at the end"), "{}", load_error(&net, &longer));

    // Not safetensors.
    assert!(load_error(&net, b"PK\x03\x04 a zip file").starts_with("not a safetensors file"));
    assert!(load_error(&net, &[]).starts_with("not a safetensors file: the file is 0 bytes"));
    let garbage = with_header(&good, &h.replacen('{', "[", 1));
    assert!(load_error(&net, &garbage).starts_with("not a safetensors file: the header is not a valid"));

    // A folded affine layer saved with a weight that is not diagonal.
    let lonely = Lonely::new(2).fold();
    let bytes = lonely.save_safetensors();
    let (lh, end) = header(&bytes);
    let (start, _) = {
        let e = entry(&lh, "1.weight");
        let offsets = &e[e.find("data_offsets").unwrap() + 15..e.len() - 2];
        let (a, b) = offsets.split_once(',').unwrap();
        (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap())
    };
    let mut skew = bytes.clone();
    let at = end + start + 4; // element [0, 1]
    skew[at..at + 4].copy_from_slice(&0.25f32.to_le_bytes());
    let mut target = lonely;
    let err = target.load_safetensors_into(&skew).unwrap_err();
    assert_eq!(target, lonely);
    assert_eq!(
        err.to_string(),
        "tensor `1.weight`: the weight of an affine layer (a diagonal Linear(3, 3)) must be diagonal, but element \
         [0, 1] is 0.25"
    );
    assert!(matches!(err, LoadError::InvalidValue { .. }));
}

// ---- fuzzing ----

/// splitmix64: a tiny seeded generator, so the run is the same on every machine.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Numbers that break naive arithmetic: overflowing products and sums, `usize::MAX`, values
/// beyond `u64`, negative and fractional ones.
const NASTY: [&str; 12] = [
    "18446744073709551615",
    "18446744073709551608",
    "9223372036854775807",
    "4294967296",
    "2305843009213693952",
    "340282366920938463463374607431768211456",
    "-1",
    "0",
    "1e3",
    "0.5",
    "1000000000000",
    "null",
];

/// A header of `k` `U8` tensors whose sizes add up to `u64::MAX - slack` (each below 2⁶¹, so
/// `size × 8 bits` does not overflow), followed by `tail` bytes. With `k = 8`, the
/// `safetensors` crate's own `SafeTensors::deserialize` (0.8.0) panics on it ("attempt to add
/// with overflow": the data size plus the header size) in a debug build.
fn overflowing(k: u64, slack: u64, tail: usize) -> Vec<u8> {
    let size = (u64::MAX - slack) / k;
    let entries: Vec<String> = (0..k)
        .map(|i| {
            format!(
                "\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[{size}],\"data_offsets\":[{},{}]}}",
                i * size,
                (i + 1) * size
            )
        })
        .collect();
    let h = format!("{{{}}}", entries.join(","));
    let mut v = (h.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(h.as_bytes());
    v.extend(std::iter::repeat_n(0u8, tail));
    v
}

#[test]
fn offsets_that_overflow_are_an_error() {
    for k in 2..10 {
        let err = Every::load_safetensors(&overflowing(k, 8, 0)).unwrap_err();
        assert!(matches!(err, LoadError::NotSafetensors { .. }), "{k}: {err}");
    }
    assert_eq!(
        Every::load_safetensors(&overflowing(8, 8, 0)).unwrap_err().to_string(),
        "not a safetensors file: the data offsets (18446744073709551600) overflow the address space"
    );
}

/// A mutation of a valid file (`good`, whose header is `h`): every one of them is invalid.
fn mutate(g: &mut Gen, good: &[u8], h: &str) -> Vec<u8> {
    let header_end = 8 + h.len();
    match g.below(11) {
        // Truncated anywhere.
        0 => good[..g.below(good.len())].to_vec(),
        // Random bytes, sometimes behind a plausible header length.
        1 => {
            let mut v: Vec<u8> = (0..g.below(400)).map(|_| g.next() as u8).collect();
            if g.below(2) == 0 && v.len() >= 8 {
                let n = g.below(v.len()) as u64;
                v[..8].copy_from_slice(&n.to_le_bytes());
            }
            v
        }
        // One to four bit flips in the header length or the header.
        2 => {
            let mut v = good.to_vec();
            for _ in 0..=g.below(4) {
                let at = g.below(header_end);
                v[at] ^= 1 << g.below(8);
            }
            // Flips that cancel out leave the file valid: flip one more bit that stays flipped.
            if v == good {
                v[g.below(header_end)] ^= 0x80;
            }
            v
        }
        // A number of the header replaced by a nasty one (a shape, an offset).
        3 => {
            let digits: Vec<usize> = h.match_indices(|c: char| c.is_ascii_digit()).map(|(i, _)| i).collect();
            let at = *g.pick(&digits);
            let start = h[..at].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
            let end = at + h[at..].find(|c: char| !c.is_ascii_digit()).unwrap_or(h.len() - at);
            let nasty = *g.pick(&NASTY);
            let new = format!("{}{}{}", &h[..start], nasty, &h[end..]);
            if new == h {
                with_header(good, &h.replacen("\"dtype\"", "\"dtipe\"", 1))
            } else {
                with_header(good, &new)
            }
        }
        // Huge data offsets whose sum with the header length overflows.
        4 => overflowing(2 + g.below(8) as u64, g.below(64) as u64, g.below(64)),
        // A header length near or past the file's end, or past the format's limit.
        5 => {
            let mut v = good.to_vec();
            let near = h.len() as u64 + 1 + g.below(64) as u64;
            let n = *g.pick(&[near, 100_000_001, u64::MAX, u64::MAX / 2]);
            v[..8].copy_from_slice(&n.to_le_bytes());
            v
        }
        // Another dtype for one tensor (sub-byte, complex, integer, half floats, nonsense).
        6 => {
            let dtype = *g.pick(&["BOOL", "U8", "I8", "F16", "BF16", "I16", "U32", "U64", "C64", "F4", "F8_E4M3", "X"]);
            let from = if h.contains("I64") { *g.pick(&["\"F32\"", "\"I64\""]) } else { "\"F32\"" };
            let count = h.matches(from).count();
            let nth = g.below(count);
            let at = h.match_indices(from).nth(nth).unwrap().0;
            let new = format!("{}\"{dtype}\"{}", &h[..at], &h[at + from.len()..]);
            with_header(good, &new)
        }
        // A byte of the header deleted, or duplicated.
        7 => {
            let at = 8 + g.below(h.len());
            let mut v = good.to_vec();
            if g.below(2) == 0 {
                v.remove(at);
            } else {
                v.insert(at, good[at]);
            }
            v
        }
        // One more tensor, of any dtype, shape and name: unexpected (or a duplicate key).
        8 => {
            let data_len = good.len() - header_end;
            let dtype = *g.pick(&["F32", "F64", "I64", "U8"]);
            let size = if dtype == "U8" {
                1
            } else if dtype == "F32" {
                4
            } else {
                8
            };
            let shape = *g.pick(&[&[][..], &[3][..], &[2, 2][..]]);
            let bytes = size * shape.iter().product::<usize>();
            let name = *g.pick(&["extra", "0.bias", "head.weight", "5.weight", "fc1.bias"]);
            let grown = h.trim_end().strip_suffix('}').unwrap().to_string()
                + &format!(
                    ",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{data_len},{}]}}}}",
                    data_len + bytes
                );
            let mut v = with_header(good, &grown);
            v.extend((0..bytes).map(|_| g.next() as u8));
            v
        }
        // A tensor reshaped to the same number of elements: a leading 1 (or `[]` to `[1]`).
        9 => {
            let shapes: Vec<usize> = h.match_indices("\"shape\":[").map(|(i, _)| i + 9).collect();
            let at = *g.pick(&shapes);
            let mut new = h.to_string();
            new.insert_str(at, if h[at..].starts_with(']') { "1" } else { "1," });
            with_header(good, &new)
        }
        // A tensor's name changed: missing and unexpected at once, or a duplicate key.
        _ => {
            let names: Vec<usize> = h.match_indices("\":{").map(|(i, _)| i).collect();
            let at = *g.pick(&names) - 1;
            let mut new = h.to_string();
            let c = if g.below(2) == 0 { "Z" } else { "s" };
            new.replace_range(at..at + 1, c);
            if new == h {
                new.replace_range(at..at + 1, "Q");
            }
            with_header(good, &new)
        }
    }
}

/// Seeded, deterministic fuzzing: every random or mutated file is an error, never a panic,
/// for the training and the folded type, f32 and f64.
#[test]
fn random_and_mutated_files_are_errors_never_panics() {
    const ITERATIONS: usize = 6_000;
    let net = trained();
    let folded = net.fold();
    let files = [net.save_safetensors(), folded.save_safetensors()];
    let mut g = Gen(0x5eed_b47c);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..ITERATIONS {
        let good = g.pick(&files);
        let (h, _) = header(good);
        let bytes = mutate(&mut g, good, &h);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            [
                Every::load_safetensors(&bytes).err(),
                Every64::load_safetensors(&bytes).err(),
                EveryFolded::load_safetensors(&bytes).err(),
                Every64Folded::load_safetensors(&bytes).err(),
            ]
        }));
        let errors = outcome.unwrap_or_else(|_| panic!("iteration {i}: the loader panicked on {:?}", bytes));
        for e in &errors {
            let Some(e) = e else {
                panic!("iteration {i}: a mutated file loaded: {:?}", String::from_utf8_lossy(&bytes))
            };
            let kind = format!("{e:?}");
            *kinds.entry(kind[..kind.find([' ', '{', '(']).unwrap_or(kind.len())].to_string()).or_default() += 1;
        }
    }
    // Every kind of error showed up.
    for kind in ["NotSafetensors", "Truncated", "MissingTensor", "UnexpectedTensor", "WrongShape", "WrongDtype"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 0, "no {kind} in {kinds:?}");
    }
}
