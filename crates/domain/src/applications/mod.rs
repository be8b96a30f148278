//! Partner applications: the form an organization publishes ([`form`]), the answers a prospect
//! submits ([`answers`]), the stored forms, affiliate links and submissions ([`model`]), and the
//! use cases over them ([`service`]), and the notice of new submissions mailed to owners and
//! admins ([`notice`]).

pub mod answers;
pub mod countries;
pub mod form;
pub mod input;
pub mod model;
pub mod notice;
pub mod ports;
mod readers;
pub mod service;

#[cfg(test)]
mod tests;
