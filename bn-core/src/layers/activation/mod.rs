//! Element-wise activations: the [`Activation`] trait (batched forward and backward from
//! the forward's output) and its implementations [`Sigmoid`], [`ReLU`] and [`Tanh`].

mod elementwise;
mod relu;
mod sigmoid;
mod tanh;

pub use elementwise::Activation;
pub use relu::ReLU;
pub use sigmoid::Sigmoid;
pub use tanh::Tanh;
