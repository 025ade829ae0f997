//! Reading custom hostnames through the list endpoint, one page at a time
//! (`per_page` 50, the API's largest; "List Custom Hostnames": `page` from
//! 1, `per_page` 5–50, `result_info.total_pages`).

use reqwest::Method;

use super::transport::Transport;
use super::{RetryBudget, PER_PAGE};
use crate::certs::custom_hostname::CustomHostname;
use crate::certs::CertificateError;

/// One page of `GET …/custom_hostnames[?hostname=…]`; true when it is the last.
pub(super) async fn list_page(
    api: &Transport,
    hostname: Option<&str>,
    page: u32,
    budget: RetryBudget,
) -> Result<(Vec<CustomHostname>, bool), CertificateError> {
    let what = "list custom hostnames";
    let mut query = vec![
        ("per_page", PER_PAGE.to_string()),
        ("page", page.to_string()),
    ];
    if let Some(hostname) = hostname {
        query.push(("hostname", hostname.to_string()));
    }
    let url = reqwest::Url::parse_with_params(&api.base_url, &query)
        .map_err(|err| CertificateError::Refused(format!("bad API URL: {err}")))?;
    let answer = api
        .call(Method::GET, url.to_string(), None, budget, what)
        .await?;
    let (listed, info) = api.decode_page::<Vec<CustomHostname>>(&answer, what)?;
    let last = info.is_none_or(|info| info.page >= info.total_pages);
    Ok((listed, last))
}

/// Every custom hostname of the zone and the pages it took, waiting for
/// the API budget between pages as long as it takes (a background read
/// holds no check).
pub(super) async fn read_zone(
    api: &Transport,
) -> Result<(Vec<CustomHostname>, u32), CertificateError> {
    let mut found = Vec::new();
    let mut page = 1;
    loop {
        match list_page(api, None, page, RetryBudget::PATIENT).await {
            Ok((listed, last)) => {
                found.extend(listed);
                if last {
                    return Ok((found, page));
                }
                page += 1;
            }
            Err(CertificateError::Throttled(wait)) => tokio::time::sleep(wait).await,
            Err(err) => return Err(err),
        }
    }
}
