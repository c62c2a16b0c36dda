// A user name that equals a generated field name.
bn_core::network! {
    struct Net {
        input: 4,
        dense1: relu,
        dense(10),
    }
}

fn main() {}
