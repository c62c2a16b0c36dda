// `network!` needs a struct.
bn_core::network! {}

fn main() {}
