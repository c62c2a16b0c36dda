// Syntax errors of one item do not hide the errors of the others.
bn_core::network! {
    struct Net {
        input: 0,
        dense(10) foo,
        dense(8), batchnorm(eps = 0),
        tanh(1),
        dense(8 => 2),
    }
}

fn main() {}
