//! The rules of the image layers and of the shapes between layers, checked on whole
//! invocations: the model a valid one gives, the messages of invalid ones, and their outline.

use proc_macro2::TokenStream;
use quote::quote;

use super::check;
use super::errors::Errors;
use super::values::{parse_pair, tuple_items};
use crate::model::{sweep, Kind, Model, Outline, Pool, Shape};

fn checked(input: TokenStream) -> Result<Model, (Box<Outline>, syn::Error)> {
    check(syn::parse2(input).expect("the invocation parses"))
}

fn model(input: TokenStream) -> Model {
    match checked(input) {
        Ok(m) => m,
        Err((_, e)) => panic!("unexpected error: {e}"),
    }
}

/// Every message of an invalid invocation, and its outline.
fn errors(input: TokenStream) -> (Vec<String>, Box<Outline>) {
    match checked(input) {
        Ok(_) => panic!("expected errors"),
        Err((outline, e)) => (e.into_iter().map(|e| e.to_string()).collect(), outline),
    }
}

/// The messages of an invocation whose body is `input: (1, 28, 28)` and `layers`.
fn image_errors(layers: TokenStream) -> Vec<String> {
    errors(quote!(struct Net { input: (1, 28, 28), #layers })).0
}

fn lenet() -> TokenStream {
    quote! {
        pub struct LeNet {
            input: (1, 28, 28),
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
            conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
            flatten,
            dense(10),
        }
    }
}

#[test]
fn sweep_is_pytorchs_output_size() {
    assert_eq!(sweep(28, 3, 1, 1), Some(28));
    assert_eq!(sweep(28, 3, 1, 0), Some(26));
    assert_eq!(sweep(28, 2, 2, 0), Some(14));
    assert_eq!(sweep(7, 2, 2, 0), Some(3), "floor, like PyTorch");
    assert_eq!(sweep(5, 7, 1, 0), None);
    assert_eq!(sweep(5, 7, 1, 1), Some(1));
    assert_eq!(sweep(5, 3, 0, 0), None, "stride 0");
    assert_eq!(sweep(5, 3, 9, 0), Some(1));
}

#[test]
fn sizes_and_pairs() {
    let mut errs = Errors::new(Vec::new());
    assert_eq!(parse_pair(&quote!(3), "kernel", "the kernel size", 1, &mut errs), Some((3, 3)));
    assert_eq!(parse_pair(&quote!((3, 5)), "kernel", "the kernel size", 1, &mut errs), Some((3, 5)));
    assert_eq!(parse_pair(&quote!((0, 1)), "padding", "the padding", 0, &mut errs), Some((0, 1)));
    assert_eq!(parse_pair(&quote!((3, 5,)), "kernel", "the kernel size", 1, &mut errs), Some((3, 5)));
    assert!(errs.finish().is_none());
    assert!(tuple_items(&quote!(3)).is_none());
    assert!(tuple_items(&quote!([3, 3])).is_none());
    assert_eq!(tuple_items(&quote!(())).map(|v| v.len()), Some(0));
    assert_eq!(tuple_items(&quote!((1, 28, 28))).map(|v| v.len()), Some(3));

    let mut errs = Errors::new(Vec::new());
    assert_eq!(parse_pair(&quote!((3, 5, 7)), "kernel", "the kernel size", 1, &mut errs), None);
    assert_eq!(parse_pair(&quote!((0, 3)), "stride", "the stride", 1, &mut errs), None);
    assert_eq!(parse_pair(&quote!(1.5), "kernel", "the kernel size", 1, &mut errs), None);
    assert_eq!(parse_pair(&quote!(-1), "padding", "the padding", 0, &mut errs), None);
    let messages: Vec<String> = errs.finish().expect("errors").into_iter().map(|e| e.to_string()).collect();
    assert_eq!(
        messages,
        [
            "`kernel` is one number or a (height, width) pair, found 3 values",
            "the stride must be at least 1, found 0",
            "the kernel size must be a positive integer, found `1.5`",
            "the padding must be a non-negative integer, found `-1`",
        ]
    );
}

#[test]
fn lenet_shapes_and_parameters() {
    let m = model(lenet());
    assert_eq!(m.input, Shape::Image { c: 1, h: 28, w: 28 });
    assert_eq!(m.output(), Shape::Flat(10));
    assert_eq!(m.params(), 8 * 9 + 2 * 8 + 16 * 72 + 2 * 16 + 784 * 10 + 10);
    let fields: Vec<String> = m.layers.iter().map(|l| l.field.to_string()).collect();
    let names = [
        "conv2d0",
        "batchnorm1",
        "relu2",
        "maxpool3",
        "conv2d4",
        "batchnorm5",
        "relu6",
        "maxpool7",
        "flatten8",
        "dense9",
    ];
    assert_eq!(fields, names);
    let outputs: Vec<String> = m.layers.iter().map(|l| l.output().show()).collect();
    let shapes =
        ["8×28×28", "8×28×28", "8×28×28", "8×14×14", "16×14×14", "16×14×14", "16×14×14", "16×7×7", "784", "10"];
    assert_eq!(outputs, shapes);
    // Before a BN, a conv has no bias, like a dense layer.
    assert!(matches!(
        m.layers[0].kind,
        Kind::Conv2d { bias: false, kernel: (3, 3), stride: (1, 1), padding: (1, 1), .. }
    ));
    assert!(matches!(m.layers[3].kind, Kind::Pool { pool: Pool::Max, size: 2, stride: 2 }));
    assert_eq!(m.layers[4].text, "conv2d(8 => 16, kernel = 3, padding = 1)");
}

#[test]
fn options_pairs_and_flags() {
    let m = model(quote!(struct Net {
        input: (3, 32, 20),
        conv2d(4, kernel = (5, 3), stride = (2, 1), padding = (2, 0), bias), batchnorm,
        conv2d(4 => 6, kernel = 1, no_bias,), avgpool(3, stride = 2),
        maxpool(1), relu, tanh, sigmoid, flatten, dense(2),
    }));
    let kinds: Vec<String> = m.layers.iter().map(|l| l.output().show()).collect();
    // Height: (32 + 4 − 5)/2 + 1 = 16; width: 20 − 3 + 1 = 18; then the 3×3 pool every 2: 7×8.
    assert_eq!(kinds[..4], ["4×16×18", "4×16×18", "6×16×18", "6×7×8"]);
    assert!(matches!(
        m.layers[0].kind,
        Kind::Conv2d { bias: true, kernel: (5, 3), stride: (2, 1), padding: (2, 0), .. }
    ));
    assert!(matches!(m.layers[2].kind, Kind::Conv2d { bias: false, .. }));
    assert!(matches!(m.layers[3].kind, Kind::Pool { pool: Pool::Avg, size: 3, stride: 2 }));
    assert_eq!(m.output(), Shape::Flat(2));
    assert_eq!(m.layers[2].params(), 6 * 4);
}

#[test]
fn geometry_errors() {
    assert_eq!(
        image_errors(quote!(conv2d(4, kernel = 3), maxpool(4), conv2d(16, kernel = 7), flatten, dense(10))),
        ["layer 3 `conv2d(16, kernel = 7)`: a 7×7 kernel does not fit the 6×6 input (padding 0)"]
    );
    assert_eq!(
        image_errors(quote!(maxpool(29), flatten, dense(10))),
        ["layer 1 `maxpool(29)`: a 29×29 window does not fit the 28×28 image"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(8, kernel = 3, padding = 2), flatten, dense(10))),
        ["layer 1 `conv2d(8, kernel = 3, padding = 2)`: padding 2 is more than half the 3×3 kernel; \
             PyTorch requires padding ≤ kernel/2, at most 1 here"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(8, kernel = 3), conv2d(3 => 16, kernel = 3), flatten, dense(10))),
        ["layer 2 `conv2d(3 => 16, kernel = 3)` expects 3 channels, but the previous layer gives 8"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(16, kernel = 3, stride = 2), relu, dense(10))),
        ["layer 3 `dense(10)` after a 16×13×13 image: add `flatten` first"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(8, kernel = 3), dense(10))),
        ["layer 2 `dense(10)` after an 8×26×26 image: add `flatten` first"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(65536, kernel = 1), flatten, dense(10))),
        ["layer 1 `conv2d(65536, kernel = 1)`: its output of 65536×28×28 = 51380224 values is larger than the \
             supported maximum of 16777216"]
    );
}

#[test]
fn image_layers_on_features() {
    let (messages, _) = errors(quote!(struct Net { input: 784, conv2d(8, kernel = 3), flatten, dense(10) }));
    assert_eq!(
        messages,
        ["layer 1 `conv2d(8, kernel = 3)` needs an image, but the input is 784 features; an image input is written \
          `input: (C, H, W)`"]
    );
    let (messages, _) = errors(quote!(struct Net { input: 784, dense(100), maxpool(2), dense(10), relu, flatten }));
    assert_eq!(
        messages,
        [
            "layer 2 `maxpool(2)` needs an image, but the previous layer gives 100 features",
            "layer 5 `flatten`: the previous layer already gives 10 features, so `flatten` would do nothing; remove it",
        ]
    );
}

#[test]
fn option_errors() {
    assert_eq!(
        image_errors(quote!(conv2d(8, kernal = 3), flatten, dense(10))),
        ["unknown `conv2d` option `kernal`; did you mean `kernel`?"],
        "no `missing kernel` after a misspelled one"
    );
    assert_eq!(
        image_errors(quote!(maxpool(2, strides = 2))),
        ["unknown `maxpool` option `strides`; did you mean `stride`?"]
    );
    assert_eq!(
        image_errors(quote!(avgpool(2, padding = 1))),
        ["unknown `avgpool` option `padding`; the only option is `stride`"]
    );
    assert_eq!(image_errors(quote!(conv2d(8, kernel = 3, stride = 1, stride = 2))), ["duplicate option `stride`"]);
    assert_eq!(
        image_errors(quote!(conv2d(8, kernel = 3, bias, no_bias))),
        ["`no_bias` contradicts the `bias` before it; keep one of them"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(8, padding = 1), flatten, dense(10))),
        ["`conv2d` needs a kernel: `kernel = K` or `kernel = (KH, KW)`, e.g. `conv2d(16, kernel = 3)`"]
    );
    assert_eq!(
        image_errors(quote!(conv2d(kernel = 3))),
        ["`conv2d` takes its output channels first, e.g. `conv2d(16, kernel = 3)`"]
    );
    assert_eq!(image_errors(quote!(conv2d(8, 3))), ["expected an option such as `kernel = 3`, found `3`"]);
    assert_eq!(
        image_errors(quote!(conv2d(8, kernel = 3 stride = 2))),
        ["expected `,` after `kernel = 3`, found `stride`"]
    );
    assert_eq!(image_errors(quote!(conv2d(8, kernel))), ["`kernel` needs a value, e.g. `kernel = 3`"]);
    assert_eq!(
        image_errors(quote!(maxpool((2, 2)))),
        ["`maxpool` windows are square: the window size is one number, e.g. `maxpool(2)`"]
    );
    assert_eq!(
        image_errors(quote!(maxpool(2 => 3))),
        ["`maxpool` keeps the channels of its input; remove `=>`, e.g. `maxpool(2)`"]
    );
    assert_eq!(image_errors(quote!(flatten(1))), ["`flatten` takes no arguments"]);
    assert_eq!(image_errors(quote!(maxpool)), ["`maxpool` needs its window size, e.g. `maxpool(2)`"]);
    assert_eq!(image_errors(quote!(MaxPool2d(2))), ["unknown layer `MaxPool2d`; did you mean `maxpool`?"]);
}

#[test]
fn input_errors() {
    let (messages, outline) = errors(quote!(struct Net { input: (1, 28), dense(10) }));
    assert_eq!(messages, ["an image input is `(C, H, W)`: its channels, height and width, found 2 values"]);
    assert_eq!((outline.input, outline.output), (None, Some(10)));
    let (messages, _) = errors(quote!(struct Net { input: (0, 28, x), flatten, dense(10) }));
    assert_eq!(
        messages,
        [
            "the input channel count must be at least 1, found 0",
            "the input width must be a positive integer, found `x`"
        ]
    );
    let (messages, _) = errors(quote!(struct Net { input: (3, 4096, 4096), flatten, dense(10) }));
    assert_eq!(
        messages,
        ["the input of 3×4096×4096 = 50331648 values is larger than the supported maximum of 16777216"]
    );
    let (messages, _) = errors(quote!(struct Net { conv2d(8, kernel = 3) }));
    assert_eq!(
        messages,
        ["missing `input: (C, H, W)`: the channels, height and width of one input image, e.g. `input: (1, 28, 28),`"]
    );
}

/// One mistake is reported once: what it leaves in doubt is unknown until a layer sets it
/// again, and nothing is checked against what is unknown.
#[test]
fn no_cascades() {
    // After a kernel that does not fit, the image has 8 channels of unknown height and width:
    // the windows after it are not checked against it, its channels are; the width of the
    // flattened image is unknown until `dense(10)` sets one.
    let (messages, outline) = errors(quote!(struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 99), maxpool(50), conv2d(3 => 4, kernel = 60), flatten, dense(100 => 10), dense(5 => 2),
    }));
    assert_eq!(
        messages,
        [
            "layer 1 `conv2d(8, kernel = 99)`: a 99×99 kernel does not fit the 28×28 input (padding 0)",
            "layer 3 `conv2d(3 => 4, kernel = 60)` expects 3 channels, but the previous layer gives 8",
            "layer 6 `dense(5 => 2)` expects 5 inputs, but the previous layer gives 10",
        ]
    );
    // A pool on features: either it or the input is wrong, so even the kind of its output is
    // unknown (no `add flatten` for the dense after it).
    let (messages, _) = errors(quote!(struct Net { input: 784, maxpool(2), dense(10), conv2d(4 => 2, kernel = 3) }));
    assert_eq!(
        messages,
        [
            "layer 1 `maxpool(2)` needs an image, but the input is 784 features; an image input is written \
             `input: (C, H, W)`",
            "layer 3 `conv2d(4 => 2, kernel = 3)` needs an image, but the previous layer gives 10 features",
        ]
    );
    assert_eq!(outline.input, Some(Shape::Image { c: 1, h: 28, w: 28 }));
    assert_eq!(outline.output, Some(2));
    // A conv with stated input channels sets the channels again, not the height and width.
    let (messages, outline) = errors(quote!(struct Net {
        input: (1, 28, 28),
        conv2d(8, kernal = 3), conv2d(8 => 16, kernel = 3), conv2d(8 => 4, kernel = 3), flatten,
    }));
    assert_eq!(
        messages,
        [
            "unknown `conv2d` option `kernal`; did you mean `kernel`?",
            "layer 3 `conv2d(8 => 4, kernel = 3)` expects 8 channels, but the previous layer gives 16",
        ]
    );
    assert_eq!(outline.output, None);
    // After an unknown layer even the kind of the values is unknown.
    let (messages, _) = errors(quote!(struct Net { input: (1, 28, 28), conv2d(8, kernel = 3), softmax, dense(10) }));
    assert_eq!(
        messages,
        ["unknown layer `softmax`; the layers are `dense`, `batchnorm`, `layernorm`, `dropout`, `sigmoid`, `relu`, \
             `tanh`, `conv2d`, `maxpool`, `avgpool`, `global_avgpool`, `groupnorm`, `flatten`"]
    );
    // A broken layer keeps the kind of the values: a dense after it still needs `flatten`.
    let (messages, _) =
        errors(quote!(struct Net { input: (1, 28, 28), conv2d(8, kernel = 3), batchnorm(eps = 0), dense(10) }));
    assert_eq!(messages[1], "layer 3 `dense(10)` after an image: add `flatten` first");
}

#[test]
fn outline_of_an_image_network() {
    let (_, outline) = errors(quote!(struct Net {
        input: (3, 32, 32), conv2d(8, kernel = 3, strides = 2), relu, flatten, dense(10),
    }));
    assert_eq!((outline.input, outline.output), (Some(Shape::Image { c: 3, h: 32, w: 32 }), Some(10)));
    let (_, outline) = errors(quote!(struct Net { input: (3, 32, 32), conv2d(8, kernel = 3), relu, flatten(2) }));
    assert_eq!(outline.output, None);
    let (_, outline) = errors(quote!(struct Net { input: (3, 32, 32), dense(0), conv2d(8, kernel = 3), maxpool(2) }));
    assert_eq!(outline.output, None);
}

#[test]
fn normalization_options_are_checked_at_their_tokens() {
    let (messages, _) = errors(quote!(struct Net {
        input: 4,
        dense(4), batchnorm(renorm(rmax = 0.5, dmax = -1)),
        dense(4), batchnorm(afine = false, renorm(r_max = 2)),
        layernorm(affine = maybe, epsilon = 1e-3),
        dropout(1.0), dropout, dropout(-0.1), dropout(p = 0.2),
        dense(2),
    }));
    assert_eq!(
        messages,
        [
            "`rmax` must be a finite number at least 1 (r is clipped to [1/rmax, rmax]), found `0.5`",
            "`dmax` must be a finite number at least 0 (d is clipped to [−dmax, dmax]), found `-1`",
            "unknown `batchnorm` option `afine`; did you mean `affine`?",
            "unknown `renorm` option `r_max`; did you mean `rmax`?",
            "unknown `layernorm` option `epsilon`; did you mean `eps`?",
            "`affine` must be `true` or `false`, found `maybe`",
            "the dropout probability must be in [0, 1), found `1.0`",
            "`dropout` needs its drop probability, e.g. `dropout(0.5)`",
            "the dropout probability must be in [0, 1), found `-0.1`",
        ]
    );
    // The valid spellings.
    let inv: crate::parse::Invocation = syn::parse2(quote!(struct Net {
        input: 4, dense(4), batchnorm(renorm, affine = false), layernorm(eps = 1e-3, affine = false),
        dropout(0.0), batchnorm(renorm(dmax = 0)), dropout(p = 0.5),
    }))
    .expect("parses");
    let model = match crate::check::check(inv) {
        Ok(m) => m,
        Err((_, e)) => panic!("unexpected error: {e}"),
    };
    use crate::model::Kind;
    assert!(matches!(model.layers[1].kind, Kind::BatchNorm { affine: false, renorm: Some((3.0, 5.0)), .. }));
    assert!(matches!(model.layers[2].kind, Kind::LayerNorm { affine: false, eps } if eps == 1e-3));
    assert!(matches!(model.layers[3].kind, Kind::Dropout { p } if p == 0.0));
    assert!(matches!(model.layers[4].kind, Kind::BatchNorm { renorm: Some((3.0, 0.0)), affine: true, .. }));
    assert!(matches!(model.layers[5].kind, Kind::Dropout { p } if p == 0.5));
    // dense(4) without bias (a BN follows), the affine BN at layer 5: γ and β.
    assert_eq!(model.params(), 4 * 4 + 2 * 4);
}

fn resnet() -> TokenStream {
    quote! {
        pub struct ResNet {
            input: (1, 28, 28),
            conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
            residual {
                conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
                conv2d(16, kernel = 3, padding = 1), batchnorm,
            },
            relu,
            stage2: residual {
                conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
                conv2d(32, kernel = 3, padding = 1), batchnorm,
            } shortcut {
                conv2d(32, kernel = 1, stride = 2), batchnorm,
            },
            relu,
            groupnorm(8, eps = 1e-3, affine = false),
            global_avgpool,
            dense(10),
        }
    }
}

/// The layers of a block's branch.
fn branches(layer: &crate::model::Layer) -> (&[crate::model::Layer], Option<&[crate::model::Layer]>) {
    match &layer.kind {
        Kind::Residual(block) => (&block.body, block.shortcut.as_deref()),
        _ => panic!("`{}` is not a block", layer.field),
    }
}

#[test]
fn residual_blocks_shapes_names_and_parameters() {
    let m = model(resnet());
    let fields: Vec<String> = m.layers.iter().map(|l| l.field.to_string()).collect();
    assert_eq!(
        fields,
        [
            "conv2d0",
            "batchnorm1",
            "relu2",
            "residual3",
            "relu4",
            "stage2",
            "relu6",
            "groupnorm7",
            "global_avgpool8",
            "dense9"
        ]
    );
    let (body, shortcut) = branches(&m.layers[3]);
    assert!(shortcut.is_none());
    let names: Vec<String> = body.iter().map(|l| l.field.to_string()).collect();
    assert_eq!(names, ["conv2d0", "batchnorm1", "relu2", "conv2d3", "batchnorm4"], "numbered within the branch");
    let (body, shortcut) = branches(&m.layers[5]);
    let shortcut = shortcut.expect("a projection block");
    assert_eq!(shortcut[0].field.to_string(), "conv2d0");
    assert!(matches!(shortcut[0].kind, Kind::Conv2d { stride: (2, 2), bias: false, .. }), "no bias before a BN");
    assert_eq!(body[0].input, Shape::Image { c: 16, h: 28, w: 28 });
    assert_eq!(m.layers[5].output(), Shape::Image { c: 32, h: 14, w: 14 });
    assert!(m.layers[5].named);
    assert!(matches!(m.layers[7].kind, Kind::GroupNorm { groups: 8, affine: false, eps } if eps == 1e-3));
    assert_eq!(m.layers[8].output(), Shape::Flat(32));
    assert_eq!(m.output(), Shape::Flat(10));
    let identity = 2 * (16 * 16 * 9 + 2 * 16);
    let projection = 16 * 32 * 9 + 2 * 32 + 32 * 32 * 9 + 2 * 32 + 16 * 32 + 2 * 32;
    assert_eq!(m.layers[3].params(), identity);
    assert_eq!(m.layers[5].params(), projection);
    assert_eq!(m.params(), 16 * 9 + 2 * 16 + identity + projection + 32 * 10 + 10, "GroupNorm without affine: none");
    assert!(m.has_batchnorm());
}

#[test]
fn blocks_nest_and_work_on_features() {
    let m = model(quote!(struct Net {
        input: 32,
        residual {
            dense(32), batchnorm, relu,
            residual { dense(32), relu, dropout(0.1) } shortcut { dense(32, no_bias) },
            layernorm,
        },
        dense(4),
    }));
    let (body, _) = branches(&m.layers[0]);
    let (inner, inner_shortcut) = branches(&body[3]);
    assert_eq!(body[3].field.to_string(), "residual3");
    assert_eq!(inner.len(), 3);
    assert!(matches!(inner_shortcut.expect("a shortcut")[0].kind, Kind::Dense { bias: false, .. }));
    assert_eq!(m.params(), 32 * 32 + 2 * 32 + (32 * 32 + 32) + 32 * 32 + 2 * 32 + 4 * 32 + 4);
    // Without a `batchnorm` anywhere, a network trains at batch 1; one inside a block counts.
    assert!(m.has_batchnorm() && m.has_dropout());
    let m =
        model(quote!(struct Net { input: (4, 6, 6), residual { groupnorm(2), relu, conv2d(4, kernel = 1) }, flatten }));
    assert!(!m.has_batchnorm() && !m.has_dropout());
}

#[test]
fn block_errors_point_at_the_block_and_suggest_a_shortcut() {
    let messages = image_errors(quote! {
        conv2d(16, kernel = 3, padding = 1),
        residual { conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm },
        residual { conv2d(8, kernel = 3, stride = 2), relu },
        residual { flatten, dense(10) },
    });
    assert_eq!(
        messages,
        ["layer 2 `residual`: the block's body gives 32×14×14 but its input is 16×28×28: add `shortcut { \
             conv2d(32, kernel = 1, stride = 2) }`",],
        "after a mismatch, only the kind of the values is known: no cascade"
    );
    let (messages, outline) = errors(quote!(struct Net {
        input: (16, 28, 28),
        residual { conv2d(8, kernel = 3, stride = 2), relu },
        flatten, dense(10),
    }));
    assert_eq!(
        messages,
        ["layer 1 `residual`: the block's body gives 8×13×13 but its input is 16×28×28: add `shortcut { conv2d(8, \
          kernel = 3, stride = 2) }`"],
        "no 1×1 window gives 13 of 28 pixels: the smallest that does"
    );
    assert_eq!(outline.output, Some(10));
    let messages = errors(quote!(struct Net { input: (16, 9, 9), residual { flatten, dense(10) }, dense(2) })).0;
    assert_eq!(
        messages,
        ["layer 1 `residual`: the block's body gives 10 but its input is 16×9×9: add `shortcut { flatten, dense(10) \
          }`"]
    );
    let messages =
        errors(quote!(struct Net { input: (4, 5, 5), residual { conv2d(4, kernel = 3, padding = 1), maxpool(2) } })).0;
    assert_eq!(
        messages,
        ["layer 1 `residual`: the block's body gives 4×2×2 but its input is 4×5×5: add `shortcut { conv2d(4, kernel \
          = 1, stride = 3) }`"]
    );
    // No window without padding grows an image.
    let messages = errors(quote!(struct Net { input: (4, 5, 5), residual { conv2d(4, kernel = 2, padding = 1) } })).0;
    assert_eq!(
        messages,
        ["layer 1 `residual`: the block's body gives 4×6×6 but its input is 4×5×5: add a `shortcut { … }` that gives \
          4×6×6"]
    );
    let messages = errors(quote!(struct Net { input: (4, 5, 5), residual { conv2d(4, kernel = 3, padding = 1) } shortcut { maxpool(2) } })).0;
    assert_eq!(
        messages,
        ["layer 1 `residual`: the shortcut gives 4×2×2 but the body gives 4×5×5; both branches must give the same \
          shape, which the block adds"]
    );
}

#[test]
fn block_syntax_errors() {
    let (messages, outline) = errors(quote!(struct Net {
        input: 8,
        residual {},
        residual { dense(8) } shortcut {},
        shortcut { dense(8) },
        residual,
        residual(2) { relu },
        relu { dense(8) },
        residual { input: 8, relu, scalar: f64 },
        resdiual { dense(8) },
        dense(3),
    }));
    assert_eq!(
        messages,
        [
            "the body of layer 1 `residual` is empty: a block needs at least one layer, e.g. `residual { dense(100), \
             batchnorm }`",
            "the shortcut of layer 2 `residual` is empty: the identity shortcut is written by leaving `shortcut { … }` \
             out",
            "`shortcut { … }` needs a `residual { … }` block right before it: `residual { … } shortcut { … }`",
            // What comes after the stray `shortcut` is unknown: the example is an image's.
            "`residual` needs its layers in braces, e.g. `residual { conv2d(16, kernel = 3, padding = 1), batchnorm, \
             relu, conv2d(16, kernel = 3, padding = 1) }`",
            "`residual` takes no arguments: its layers go in braces, `residual { … }`",
            "`relu` takes no layers in braces; only a `residual { … }` block does",
            "`input:` is a setting of the network; it cannot be inside a block",
            "`scalar:` is a setting of the network; it cannot be inside a block",
            "unknown layer `resdiual`; did you mean `residual`?",
        ]
    );
    assert_eq!(outline.output, Some(3));
}

#[test]
fn groupnorm_and_global_avgpool_rules() {
    let messages = image_errors(quote! {
        conv2d(12, kernel = 3), groupnorm(5), groupnorm(24), groupnorm(12), groupnorm(0), groupnorm,
        groupnorm(eps = 1e-3), groupnorm(3, afine = false),
        global_avgpool(2), groupnorm(2), global_avgpool,
    });
    assert_eq!(
        messages,
        [
            "layer 2 `groupnorm(5)`: 5 groups do not divide the 12 channels of its input; try `groupnorm(4)` or \
             `groupnorm(6)`, the nearest divisors of 12",
            "layer 3 `groupnorm(24)`: 24 groups do not divide the 12 channels of its input; try `groupnorm(12)`, \
             the nearest divisor of 12",
            "the number of groups must be at least 1, found 0",
            "`groupnorm` needs its number of groups, e.g. `groupnorm(8)` (PyTorch's `nn.GroupNorm(8, C)`)",
            "`groupnorm` takes its number of groups first, e.g. `groupnorm(8, eps = 1e-5)`",
            "unknown `groupnorm` option `afine`; did you mean `affine`?",
            "`global_avgpool` takes no arguments: it averages each channel over all its pixels",
            "layer 10 `groupnorm(2)` needs an image, but the previous layer gives 12 features; over features, use \
             `layernorm`",
            "layer 11 `global_avgpool` needs an image, but the previous layer gives 12 features",
        ]
    );
}
