//! The platform defaults for a domain's Index and 404 targets: two built-in
//! pages, published as content like any page. Used when a domain (or an
//! account's platform host) has no target set. No tenant data in them.

/// Served (200) at `/` when no Index target is set.
pub const DEFAULT_INDEX_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n\
<title>Nothing here yet</title>\n\
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem;color:#222;line-height:1.5}h1{font-size:1.5rem}</style>\n\
</head>\n<body>\n<main>\n<h1>Nothing here yet</h1>\n<p>This site has no home page yet.</p>\n</main>\n</body>\n</html>\n";

/// Served (404) for paths without a page when no 404 target is set.
pub const DEFAULT_NOT_FOUND_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n\
<title>Page not found</title>\n\
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem;color:#222;line-height:1.5}h1{font-size:1.5rem}</style>\n\
</head>\n<body>\n<main>\n<h1>Page not found</h1>\n<p>There is no page at this address.</p>\n</main>\n</body>\n</html>\n";
