// The struct needs a name.
bn_core::network! {
    struct {
        input: 4,
        dense(10),
    }
}

fn main() {}
