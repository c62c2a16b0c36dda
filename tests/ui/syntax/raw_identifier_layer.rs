// A raw identifier as a layer kind is an unknown layer (and must not panic the macro).
bn_core::network! {
    struct Net {
        input: 4,
        r#desne(10),
    }
}

fn main() {}
