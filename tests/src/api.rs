//! One typed helper per management endpoint, returning the API's own response types
//! (`app_server::api::*`): `app.events(&session, "?status=failed")`. A [`Reply`] keeps the status and
//! the raw JSON too, so a test can assert the exact contract as well as read typed fields.

use std::marker::PhantomData;

use app_server::api::accounts::{
    DisconnectedBody, InstallationBody, MeBody, RepositoriesBody, RotatedBody,
};
use app_server::api::knowledge::{ExpertsBody, RelatedPullsBody};
use app_server::api::manage::{
    DeliveryBody, DeliveryDetailBody, EventBody, EventDetailBody, PageBody, RetriedBody, ReviewBody,
};
use app_server::api::memory::{MemoriesBody, MemoryBody};
use reqwest::{Method, StatusCode};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::TestApp;

/// A signed-in browser's `Cookie` header value.
#[derive(Debug, Clone)]
pub struct Session(pub String);

/// What an endpoint answered: its status, its JSON, and the type the API says it is.
#[derive(Debug)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub body: Value,
    kind: PhantomData<T>,
}

impl<T: DeserializeOwned> Reply<T> {
    /// The body as the API's type; fails the test on any other status or shape.
    pub fn ok(&self) -> T {
        assert!(self.status.is_success(), "{}: {}", self.status, self.body);
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("not the API's type ({e}): {}", self.body))
    }

    /// A refusal's `detail`.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    /// Calls `method path` as the browser of `session` (none: signed out).
    pub async fn call<T>(&self, method: Method, path: &str, session: Option<&Session>) -> Reply<T> {
        self.call_with(method, path, session, None).await
    }

    /// The same with a JSON body.
    pub async fn call_with<T>(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<&Value>,
    ) -> Reply<T> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let state_changing = method != Method::GET;
        let mut request = client.request(method, format!("{}{path}", self.address));
        if state_changing {
            // As the management API is documented: JSON from nectr's own origin.
            request = request.header("content-type", "application/json");
        }
        if let Some(session) = session {
            request = request.header("cookie", &session.0);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            kind: PhantomData,
        }
    }

    /// `GET /auth/me`
    pub async fn me(&self, session: &Session) -> Reply<MeBody> {
        self.call(Method::GET, "/auth/me", Some(session)).await
    }

    /// `POST /auth/logout`
    pub async fn logout(&self, session: &Session) -> Reply<Value> {
        self.call(Method::POST, "/auth/logout", Some(session)).await
    }

    /// `GET /api/v1/repos`
    pub async fn repos(&self, session: &Session) -> Reply<RepositoriesBody> {
        self.call(Method::GET, "/api/v1/repos", Some(session)).await
    }

    /// `POST /api/v1/repos/{repo}/install`
    pub async fn install(&self, session: &Session, repo: &str) -> Reply<InstallationBody> {
        let path = format!("/api/v1/repos/{repo}/install");
        self.call(Method::POST, &path, Some(session)).await
    }

    /// `DELETE /api/v1/repos/{repo}/install`
    pub async fn uninstall(&self, session: &Session, repo: &str) -> Reply<DisconnectedBody> {
        let path = format!("/api/v1/repos/{repo}/install");
        self.call(Method::DELETE, &path, Some(session)).await
    }

    /// `POST /api/v1/repos/{repo}/rotate-secret`
    pub async fn rotate_secret(&self, session: &Session, repo: &str) -> Reply<RotatedBody> {
        let path = format!("/api/v1/repos/{repo}/rotate-secret");
        self.call(Method::POST, &path, Some(session)).await
    }

    /// `GET /api/v1/repos/{repo}/memories{query}`
    pub async fn memories(
        &self,
        session: &Session,
        repo: &str,
        query: &str,
    ) -> Reply<MemoriesBody> {
        let path = format!("/api/v1/repos/{repo}/memories{query}");
        self.call(Method::GET, &path, Some(session)).await
    }

    /// `POST /api/v1/repos/{repo}/memories`
    pub async fn remember(&self, session: &Session, repo: &str, body: &Value) -> Reply<MemoryBody> {
        let path = format!("/api/v1/repos/{repo}/memories");
        self.call_with(Method::POST, &path, Some(session), Some(body))
            .await
    }

    /// `PATCH /api/v1/repos/{repo}/memories/{id}`
    pub async fn change_memory(
        &self,
        session: &Session,
        repo: &str,
        id: i64,
        body: &Value,
    ) -> Reply<MemoryBody> {
        let path = format!("/api/v1/repos/{repo}/memories/{id}");
        self.call_with(Method::PATCH, &path, Some(session), Some(body))
            .await
    }

    /// `DELETE /api/v1/repos/{repo}/memories/{id}`
    pub async fn forget_memory(&self, session: &Session, repo: &str, id: i64) -> Reply<Value> {
        let path = format!("/api/v1/repos/{repo}/memories/{id}");
        self.call(Method::DELETE, &path, Some(session)).await
    }

    /// `GET /api/v1/events{query}`
    pub async fn list_events(&self, session: &Session, query: &str) -> Reply<PageBody<EventBody>> {
        let path = format!("/api/v1/events{query}");
        self.call(Method::GET, &path, Some(session)).await
    }

    /// `GET /api/v1/events/{id}`
    pub async fn event(&self, session: &Session, id: i64) -> Reply<EventDetailBody> {
        let path = format!("/api/v1/events/{id}");
        self.call(Method::GET, &path, Some(session)).await
    }

    /// `POST /api/v1/events/{id}/retry`
    pub async fn retry(&self, session: &Session, id: i64) -> Reply<RetriedBody> {
        let path = format!("/api/v1/events/{id}/retry");
        self.call(Method::POST, &path, Some(session)).await
    }

    /// `GET /api/v1/reviews{query}`
    pub async fn reviews(&self, session: &Session, query: &str) -> Reply<PageBody<ReviewBody>> {
        let path = format!("/api/v1/reviews{query}");
        self.call(Method::GET, &path, Some(session)).await
    }

    /// `GET /api/v1/deliveries{query}`
    pub async fn list_deliveries(
        &self,
        session: &Session,
        query: &str,
    ) -> Reply<PageBody<DeliveryBody>> {
        let path = format!("/api/v1/deliveries{query}");
        self.call(Method::GET, &path, Some(session)).await
    }

    /// `GET /api/v1/deliveries/{id}`
    /// `GET /api/v1/repos/{repo}/experts?{query}`.
    pub async fn experts(&self, session: &Session, repo: &str, query: &str) -> Reply<ExpertsBody> {
        self.call(
            Method::GET,
            &format!("/api/v1/repos/{repo}/experts?{query}"),
            Some(session),
        )
        .await
    }

    /// `GET /api/v1/repos/{repo}/pulls/{number}/related`.
    pub async fn related(
        &self,
        session: &Session,
        repo: &str,
        number: u64,
    ) -> Reply<RelatedPullsBody> {
        self.call(
            Method::GET,
            &format!("/api/v1/repos/{repo}/pulls/{number}/related"),
            Some(session),
        )
        .await
    }

    pub async fn delivery(&self, session: &Session, id: i64) -> Reply<DeliveryDetailBody> {
        let path = format!("/api/v1/deliveries/{id}");
        self.call(Method::GET, &path, Some(session)).await
    }
}

// The sign-in flow as a browser goes through it, against the fake GitHub's OAuth pages.

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("sign-in flow")
}

/// `name=value` of the session cookie a response sets, with its attributes.
pub fn set_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("sign-in flow").to_owned())
        .find(|v| v.starts_with("nectr_session=") || v.starts_with("__Host-nectr_session="))?;
    let pair = header.split(';').next().expect("sign-in flow").to_owned();
    Some((pair, header))
}

/// A sign-in started by one browser: the `state` GitHub is sent to carry back, and the cookie
/// (`name=value`) that binds it to that browser.
#[derive(Debug)]
pub struct Started {
    pub state: String,
    pub cookie: String,
}

pub async fn begin(app: &TestApp) -> Started {
    let response = browser()
        .get(format!("{}/auth/github", app.address))
        .send()
        .await
        .expect("sign-in flow");
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"]
        .to_str()
        .expect("sign-in flow")
        .to_owned();
    let state = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .expect("sign-in flow")
        .to_owned();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            v.to_str()
                .expect("sign-in flow")
                .split(';')
                .next()
                .expect("sign-in flow")
                .to_owned()
        })
        .find(|pair| pair.contains("nectr_oauth_state="))
        .expect("a sign-in state cookie");
    Started { state, cookie }
}

/// GitHub's redirect back, from a browser holding `cookie` (none: another browser).
pub async fn callback_from(
    app: &TestApp,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = browser().get(format!(
        "{}/auth/github/callback?code={code}&state={state}",
        app.address
    ));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("sign-in flow")
}

/// GitHub's redirect back to the browser that started the sign-in.
pub async fn callback(app: &TestApp, code: &str, started: &Started) -> reqwest::Response {
    callback_from(app, code, &started.state, Some(&started.cookie)).await
}

/// Signs in with `code` and returns the browser's session (`nectr_session=…`).
pub async fn sign_in(app: &TestApp, code: &str) -> Session {
    let started = begin(app).await;
    let response = callback(app, code, &started).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    Session(set_cookie(&response).expect("a session cookie").0)
}
