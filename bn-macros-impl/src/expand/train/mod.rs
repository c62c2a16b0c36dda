//! Code generation for training: the fields of the network and of its gradients, the
//! workspace, and the `Network` impl (forward, backward, optimizer step, initialization,
//! population statistics, folding).
//!
//! `layout.rs` says where each layer's buffers live in the workspace and which layers run
//! fused; `fields.rs` writes the fields of the network, gradients and workspace types;
//! `steps.rs` the statements of each layer in the `Network` methods; `network.rs` the
//! `Network` impl from them.

mod fields;
mod layout;
mod network;
mod steps;

pub(crate) use fields::{param_fields, workspace_fields};
pub(crate) use network::network_impl;
