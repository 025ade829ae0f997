//! The path space a host's pages and mounts share: one path holds one
//! page or one mount, and one first segment at most
//! [`MAX_ENTRIES_PER_SEGMENT`] of them (the edge reads them as one record).
//! Checked inside the unit of work, where the account is locked, so two
//! concurrent adds cannot both take a path.

use portico_shared::link_path::MAX_ENTRIES_PER_SEGMENT;
use portico_shared::LinkPath;

use super::ApiError;
use crate::store::mounts;
use crate::unit::Unit;

/// Refuses `path` in `scope` (on `host`) when a page or mount other than
/// `except` holds it (409 `path_taken`), or when its first segment is full
/// (422 `path_segment_full`).
pub(crate) async fn claim(
    unit: &mut Unit,
    scope: &str,
    path: &LinkPath,
    host: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let first = path.first();
    let others: Vec<(String, String)> = mounts::paths_under(unit.conn(), scope, first.as_str())
        .await?
        .into_iter()
        .filter(|(id, _)| Some(id.as_str()) != except)
        .collect();
    if others.iter().any(|(_, other)| other == path.as_str()) {
        return Err(taken(path, host));
    }
    if others.len() >= MAX_ENTRIES_PER_SEGMENT {
        return Err(ApiError::invalid(
            "path",
            "path_segment_full",
            format!(
                "{host} already has {MAX_ENTRIES_PER_SEGMENT} pages and mounts under /{first}: \
                 remove one, or choose a path that starts differently"
            ),
        ));
    }
    Ok(())
}

/// 409 `path_taken`.
pub(crate) fn taken(path: &LinkPath, host: &str) -> ApiError {
    ApiError::conflict(
        "path_taken",
        format!(
            "{} is already used on {host} by a page or a mount: choose another path",
            path.path()
        ),
    )
}
