//! Talks to a running local stack over the wire, as its users would: the
//! control plane's REST API (the platform operator with the admin token, a
//! customer with an account token), the local DNS provider's admin API, the
//! registrar's forwarding and the edge (any Host). Used by the walkthrough
//! (against `scripts/dev`) and the end-to-end tests (against
//! [`crate::stack::LocalStack`]).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{Error, Result};

/// Where the parts of a local stack listen (base URLs, `http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub api: String,
    pub edge: String,
    pub dns_admin: String,
    pub forwarder: String,
    pub admin_token: String,
    pub platform_domain: String,
}

/// An answer: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The body, if the status is the expected one; else an error naming both.
    pub fn expect(self, status: u16, what: &str) -> Result<Value> {
        if self.status == status {
            Ok(self.body)
        } else {
            Err(Error::msg(format!(
                "{what}: expected {status}, got {} {}",
                self.status, self.body
            )))
        }
    }
}

/// A visitor's view of an edge (or forwarder) answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// An account and one of its API tokens.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub token: String,
}

#[derive(Clone)]
pub struct StackClient {
    pub endpoints: Endpoints,
    http: reqwest::Client,
}

impl StackClient {
    pub fn new(endpoints: Endpoints) -> Result<StackClient> {
        Ok(StackClient {
            endpoints,
            http: reqwest::Client::builder()
                .no_proxy()
                // Redirects are looked at, never followed.
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer> {
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::msg(format!("{method} {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok(Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    /// The control plane's API (`path` from `/v1/…`).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Answer> {
        self.send(
            method,
            format!("{}{path}", self.endpoints.api),
            Some(token),
            body.as_ref(),
        )
        .await
    }

    /// The platform operator makes an account and its first token.
    pub async fn create_account(&self, username: &str) -> Result<Account> {
        let admin = self.endpoints.admin_token.clone();
        let account = self
            .api(
                Method::POST,
                "/v1/accounts",
                &admin,
                Some(json!({ "username": username })),
            )
            .await?
            .expect(201, &format!("creating the account {username}"))?;
        let id = text(&account, "id")?;
        let token = self
            .api(
                Method::POST,
                &format!("/v1/accounts/{id}/tokens"),
                &admin,
                Some(json!({ "name": "walkthrough" })),
            )
            .await?
            .expect(201, "issuing the account's token")?;
        Ok(Account {
            id,
            username: username.to_string(),
            token: text(&token, "secret")?,
        })
    }

    /// The local DNS provider's admin API (`path` from `/api/…`).
    pub async fn dns(&self, method: Method, path: &str, body: Option<Value>) -> Result<Answer> {
        self.send(
            method,
            format!("{}{path}", self.endpoints.dns_admin),
            None,
            body.as_ref(),
        )
        .await
    }

    /// Creates a record at the local DNS provider, as the customer would.
    pub async fn create_record(&self, name: &str, kind: &str, value: &str) -> Result<Value> {
        self.dns(
            Method::POST,
            "/api/records",
            Some(json!({ "name": name, "type": kind, "value": value, "ttl": 60 })),
        )
        .await?
        .expect(201, &format!("creating {name} {kind} {value}"))
    }

    /// Removes the records of `name` and `kind`; true if there were any.
    pub async fn delete_records(&self, name: &str, kind: &str) -> Result<bool> {
        let answer = self
            .dns(
                Method::DELETE,
                &format!("/api/records?name={name}&type={kind}"),
                None,
            )
            .await?;
        match answer.status {
            204 => Ok(true),
            404 => Ok(false),
            _ => Err(Error::msg(format!(
                "removing {name} {kind}: {} {}",
                answer.status, answer.body
            ))),
        }
    }

    /// Sets the registrar's forwarding of `host` (301, path kept).
    pub async fn forward(&self, host: &str, to: &str) -> Result<Value> {
        self.dns(
            Method::PUT,
            &format!("/api/forwards/{host}"),
            Some(json!({ "to": to, "status": 301, "keep_path": true })),
        )
        .await?
        .expect(200, &format!("forwarding {host}"))
    }

    pub async fn delete_forward(&self, host: &str) -> Result<bool> {
        let answer = self
            .dns(Method::DELETE, &format!("/api/forwards/{host}"), None)
            .await?;
        Ok(answer.status == 204)
    }

    async fn visit(&self, base: &str, host: &str, path: &str) -> Result<Page> {
        let url = format!("{base}{path}");
        let response = self
            .http
            .get(&url)
            .header(HOST, host)
            .send()
            .await
            .map_err(|e| Error::msg(format!("GET {url} (Host: {host}): {e}")))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Page {
            status,
            location,
            body: response.text().await?,
        })
    }

    /// GET `path` at the edge as a visitor of `host`.
    pub async fn edge_get(&self, host: &str, path: &str) -> Result<Page> {
        self.visit(&self.endpoints.edge, host, path).await
    }

    /// What the customer's browser does with an absolute URL: GET it, or
    /// POST a form (`application/x-www-form-urlencoded`); redirects are
    /// returned, not followed.
    pub async fn browse(&self, url: &str, form: Option<&str>) -> Result<Page> {
        let request = match form {
            None => self.http.get(url),
            Some(form) => self
                .http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.to_string()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| Error::msg(format!("{url}: {e}")))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Page {
            status,
            location,
            body: response.text().await?,
        })
    }

    /// GET `path` at the registrar's forwarding as a visitor of `host`.
    pub async fn forwarder_get(&self, host: &str, path: &str) -> Result<Page> {
        self.visit(&self.endpoints.forwarder, host, path).await
    }
}

/// A string field of a JSON object, or an error naming it.
pub fn text(value: &Value, field: &str) -> Result<String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::msg(format!("no `{field}` in {value}")))
}
