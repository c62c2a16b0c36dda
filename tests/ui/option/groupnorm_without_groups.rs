// `groupnorm` needs its number of groups first.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3), groupnorm(eps = 1e-3), relu,
        global_avgpool, dense(10),
    }
}

fn main() {}
