//! `alipay-sim serve`: the Alipay side of `my.getPhoneNumber` over HTTP, stateful and hardened.
//!
//! Where each behaviour lives:
//!
//! | behaviour | module |
//! |---|---|
//! | the `serve` flags, banner, logging, signals | `command` |
//! | the router: every route and the layers around them | `routes` |
//! | accepting connections: header and idle timeouts, the connection cap, graceful shutdown | `listener` |
//! | request id, deadline, JSON errors, version header on every answer | `middleware` |
//! | the one JSON error shape and the extractors that produce it | `error` |
//! | the shared state handle (no lock is handed out) | `state` |
//! | apps, users, console configuration, cached answers | `world` |
//! | generated mobiles | `mobiles` |
//! | a ready-to-send answer and its callback | `answer` |
//! | the bounded call journal | `journal` |
//! | fault settings and draws | `faults` |
//! | the mini-program JSAPI (button, `my.getPhoneNumber`, `my.getSetting`, `?scenario=`) | `jsapi` |
//! | `my.getAuthCode` (`POST /jsapi/apps/{app}/users/{user}/getAuthCode`) | `authcode` |
//! | the OpenAPI gateway: `/gateway.do` (v2) and `/v3/alipay/...` (v3) | `gateway` |
//! | the admin API under `/__admin` | `admin` (`apps`, `users`, `control`) |
//! | the emulator page | `ui` |
//! | `POST /__forward`: the fence (which targets) and the relay (what is sent) | `forward` (`fence`, `relay`) |
//! | the OpenAPI document | [`openapi`] |
//!
//! [`app`] builds the router (tests and fuzz targets drive it with `oneshot`, no socket);
//! [`serve`] / [`serve_with`] run it on a listener; [`run`] is the `serve` command.

mod admin;
mod answer;
mod authcode;
mod command;
mod error;
mod faults;
mod forward;
mod gateway;
mod journal;
mod jsapi;
mod listener;
mod middleware;
mod mobiles;
pub mod openapi;
mod routes;
mod state;
mod ui;
mod world;

pub use self::command::{DEFAULT_ADDR, ServeArgs, ServeError, banner, run, shutdown_signal};
pub use self::forward::{AllowEntryError, ForwardConfig};
pub use self::listener::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits, SHUTDOWN_GRACE,
    serve, serve_with,
};
pub use self::middleware::{REQUEST_ID_HEADER, REQUEST_TIMEOUT, VERSION, VERSION_HEADER};
pub use self::routes::{app, app_with};
pub use self::state::AppState;
