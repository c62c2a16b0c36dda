// Layer names are unique.
bn_core::network! {
    struct Net {
        input: 4,
        fc: dense(10), relu,
        fc: dense(3),
    }
}

fn main() {}
