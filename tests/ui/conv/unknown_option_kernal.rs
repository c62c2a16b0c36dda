// A misspelled option gets a suggestion (and no second error for the missing kernel).
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernal = 3),
        flatten, dense(10),
    }
}

fn main() {}
