// An unknown `groupnorm` option, with a suggestion.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3), groupnorm(4, epsilon = 1e-3), relu,
        global_avgpool, dense(10),
    }
}

fn main() {}
