// PyTorch's spelling of a layer gets a suggestion.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3), MaxPool2d(2),
        flatten, dense(10),
    }
}

fn main() {}
