//! The verifier against real servers on loopback: hickory-server zones
//! playing customers' DNS providers and resolvers, HTTP servers playing
//! registrars' forwarding. One zone per scenario.

mod apex;
mod certificates;
mod cname;
mod current_site;
mod delegation;
mod doctor;
mod forward;
mod outbound;
mod world;
