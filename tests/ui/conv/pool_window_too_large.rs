// A pooling window must fit the image before it.
bn_core::network! {
    struct Net {
        input: (3, 8, 8),
        conv2d(8, kernel = 3), maxpool(2), avgpool(4),
        flatten, dense(10),
    }
}

fn main() {}
