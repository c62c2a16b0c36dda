//! A weights file that does not fit the model is an error that says why and names the
//! tensor (missing, unexpected, wrong shape or dtype, truncated, trailing bytes, not
//! safetensors, a folded affine weight that is not diagonal, offsets that overflow), and the
//! model it was loaded into is unchanged; a seeded, deterministic fuzz run of random and
//! mutated files finds only errors, never a panic or a load.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use bn_core::LoadError;
use bn_paper::networks::{Every, Every64, Every64Folded, EveryFolded, Lonely};

use common::files::{entry, header, trained_every, with_header};

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
    let net = trained_every();
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
    let net = trained_every();
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
