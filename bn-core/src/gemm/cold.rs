#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
macro_rules! fallback {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[cold]
        #[inline(never)]
        pub fn $name($($arg: $ty),*) {
            super::portable::$name($($arg),*)
        }
    )*};
}
#[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
macro_rules! fallback {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline(always)]
        pub fn $name($($arg: $ty),*) {
            super::portable::$name($($arg),*)
        }
    )*};
}
fallback! {
    nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &mut [f32]);
    tn(m: usize, n: usize, k: usize, d: &[f32], x: &[f32], g: &mut [f32]);
    nn(m: usize, n: usize, k: usize, d: &[f32], w: &[f32], c: &mut [f32]);
    sigmoid(x: &[f32], y: &mut [f32]);
    sigmoid_in_place(x: &mut [f32]);
}
