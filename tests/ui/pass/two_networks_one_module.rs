// Two networks in one module, private and public, with trailing-comma variations.
mod nets {
    bn_core::network! {
        pub struct A { input: 2, dense(4), relu, dense(2) }
    }
    bn_core::network! {
        pub(crate) struct B {
            input: 2,
            dense(2 => 4), batchnorm(), tanh,
            dense(4 => 1)
        }
    }
}

fn main() {
    let a = nets::A::new(1);
    let b = nets::B::new(1);
    assert_eq!(a.eval(&[1.0f32, 1.0]).len(), 2);
    assert_eq!(b.eval(&[1.0f32, 1.0]).len(), 1);
}
