// GroupNorm's groups must divide the image's channels.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(12, kernel = 3, padding = 1), groupnorm(5), relu,
        global_avgpool, dense(10),
    }
}

fn main() {}
