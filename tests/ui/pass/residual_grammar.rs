// The grammar of residual blocks, exactly as issue 20 writes it, and the names it generates.
use bn_core::typenum::U2;
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    pub struct ResNet {
        input: (1, 28, 28),
        conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(16, kernel = 3, padding = 1), batchnorm,
        },
        relu,
        residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(32, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(32, kernel = 1, stride = 2), batchnorm,
        },
        relu,
        global_avgpool,
        dense(10),
    }
}

bn_core::network! {
    /// On features, named blocks and layers, nested blocks, GroupNorm's options.
    pub struct Named {
        input: (4, 6, 6),
        groupnorm(2, eps = 1e-3, affine = false),
        stage1: residual {
            conv2d(4, kernel = 3, padding = 1), groupnorm(4), relu,
            inner: residual { conv2d(4, kernel = 1) },
        },
        global_avgpool,
        residual { dense(100), batchnorm, relu, dense(100), batchnorm } shortcut { head: dense(100) },
        dense(3),
    }
}

fn main() {
    let mut net = ResNet::new_boxed(1);
    let mut trainer = Trainer::<ResNet, U2>::new_boxed();
    let x = Batch::<U2, _>::default();
    let loss = net.train_step(&x, &[3usize, 7].into(), &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    assert!(loss.is_finite());
    // The block types and their fields.
    let block: &ResNetResidual3 = &net.residual3;
    let _: &ResNetResidual3Body = &block.body;
    let _ = &net.residual5.shortcut.batchnorm1;
    let _: &ResNetResidual5ShortcutGrads = &trainer.grads.residual5.shortcut;
    let _ = &trainer.workspace.residual5.body.a4;
    let folded: ResNetFolded = net.fold();
    let _: &ResNetResidual5ShortcutFolded = &folded.residual5.shortcut;
    assert_eq!(folded.classify(&[[[0.5f32; 28]; 28]; 1]), net.classify(&[0.5f32; 784]));
    assert!(ResNet::SUMMARY.contains("residual: body + shortcut"));

    let named = Named::new(2);
    let _ = &named.stage1.body.inner.body.conv2d0;
    let _: &NamedResidual3Shortcut = &named.residual3.shortcut;
    let _ = &named.residual3.shortcut.head;
    let _ = named.fold();
}
