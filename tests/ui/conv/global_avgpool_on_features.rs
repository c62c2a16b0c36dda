// `global_avgpool` averages an image's channels: features have none.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3), flatten, global_avgpool,
        dense(10),
    }
}

fn main() {}
