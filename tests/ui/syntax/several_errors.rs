// Every error of one invocation is reported together, each at its token.
bn_core::network! {
    struct Net {
        input: 4,
        dense(5 => 10),
        desne(10),
        dense(0),
        batchnorm(momentun = 0.1),
        relu(1),
    }
}

fn main() {}
