// Every error is reported once: after an error, the sizes it leaves in doubt are not checked.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 29), maxpool(40), conv2d(8 => 16, kernel = 50),
        flatten, dense(100 => 10),
        dense(5 => 2),
    }
}

fn main() {}
