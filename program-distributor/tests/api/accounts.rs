use distributor_api::{ErrorCode, LoginRequest, PageQuery, RegisterRequest};
use jsonwebtoken::{EncodingKey, Header};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    organizations_are_listed_paginated_and_filtered,
    a_taken_username_is_refused,
    wrong_credentials_are_refused_alike,
    bad_registration_fields_are_refused,
    a_refresh_token_buys_a_working_basic_token,
    logout_revokes_the_refresh_token_and_its_basic_tokens,
    logout_needs_the_refresh_token_itself,
    bad_expired_forged_and_misused_tokens_are_refused,
    pagination_out_of_bounds_is_refused,
);

async fn organizations_are_listed_paginated_and_filtered(app: TestApp) {
    for name in ["Alpha Lab", "Alpine Group", "Beta Institute"] {
        app.register(&name.to_lowercase().replace(' ', "_"), name)
            .await;
    }
    let all = app
        .client
        .organizations(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total_elements_amount, 3);
    let names: Vec<_> = all.organizations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Alpha Lab", "Alpine Group", "Beta Institute"]);
    assert_eq!(all.organizations[0].description, "Alpha Lab does research");

    let page2 = app
        .client
        .organizations(&PageQuery::new(2, 2))
        .await
        .unwrap();
    assert_eq!(page2.total_elements_amount, 3);
    assert_eq!(page2.organizations.len(), 1);
    assert_eq!(page2.organizations[0].name, "Beta Institute");

    let alp = app
        .client
        .organizations(&PageQuery::default().with_name_filter("Alp"))
        .await
        .unwrap();
    assert_eq!(alp.total_elements_amount, 2);
    // LIKE wildcards in the filter are literal characters.
    let wildcard = app
        .client
        .organizations(&PageQuery::default().with_name_filter("%"))
        .await
        .unwrap();
    assert_eq!(wildcard.total_elements_amount, 0);
}

async fn a_taken_username_is_refused(app: TestApp) {
    app.register("taken", "First").await;
    let again = app
        .client
        .register(&RegisterRequest {
            username: "taken".into(),
            password: PASSWORD.into(),
            name: "Second".into(),
            description: String::new(),
        })
        .await;
    assert_code(again, ErrorCode::UsernameAlreadyExists);
}

async fn wrong_credentials_are_refused_alike(app: TestApp) {
    app.register("someone", "Someone").await;
    let wrong_password = app
        .client
        .login(&LoginRequest {
            username: "someone".into(),
            password: "not the password".into(),
        })
        .await;
    assert_code(wrong_password, ErrorCode::WrongCredentials);
    let unknown_user = app
        .client
        .login(&LoginRequest {
            username: "nobody".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert_code(unknown_user, ErrorCode::WrongCredentials);
}

async fn bad_registration_fields_are_refused(app: TestApp) {
    let good = RegisterRequest {
        username: "good".into(),
        password: PASSWORD.into(),
        name: "Good".into(),
        description: "ok".into(),
    };
    let cases = [
        RegisterRequest {
            username: String::new(),
            ..good.clone()
        },
        RegisterRequest {
            username: "has space".into(),
            ..good.clone()
        },
        RegisterRequest {
            username: "u".repeat(65),
            ..good.clone()
        },
        RegisterRequest {
            password: "short".into(),
            ..good.clone()
        },
        RegisterRequest {
            password: " ".repeat(12),
            ..good.clone()
        },
        RegisterRequest {
            password: "\t\n\u{7}\u{1b}\r\u{0}\u{8}\u{7f}\u{85}".into(),
            ..good.clone()
        },
        RegisterRequest {
            password: "ab \u{3000}\u{2003} cd \t".into(),
            ..good.clone()
        },
        RegisterRequest {
            name: "   ".into(),
            ..good.clone()
        },
        RegisterRequest {
            name: "n".repeat(129),
            ..good.clone()
        },
        RegisterRequest {
            description: "d".repeat(4097),
            ..good.clone()
        },
    ];
    for case in cases {
        assert_code(app.client.register(&case).await, ErrorCode::InvalidRequest);
    }
    app.client.register(&good).await.unwrap();
}

async fn a_refresh_token_buys_a_working_basic_token(app: TestApp) {
    let org = app.org("Refreshing").await;
    let basic = app
        .client
        .refresh_token(&org.login.refresh_token.token)
        .await
        .unwrap();
    assert_ne!(basic.token, org.login.basic_token.token);
    let mine = app
        .client
        .with_token(&basic.token)
        .my_programs(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(mine.total_elements_amount, 0);
}

async fn logout_revokes_the_refresh_token_and_its_basic_tokens(app: TestApp) {
    let org = app.org("Leaving").await;
    let refreshed = app
        .client
        .refresh_token(&org.login.refresh_token.token)
        .await
        .unwrap();
    app.client.logout(&org.login.refresh_token).await.unwrap();
    assert_code(
        app.client
            .refresh_token(&org.login.refresh_token.token)
            .await,
        ErrorCode::InvalidToken,
    );
    assert_code(
        org.client.my_programs(&PageQuery::default()).await,
        ErrorCode::InvalidToken,
    );
    assert_code(
        app.client
            .with_token(&refreshed.token)
            .my_programs(&PageQuery::default())
            .await,
        ErrorCode::InvalidToken,
    );
    assert_code(
        app.client.logout(&org.login.refresh_token).await,
        ErrorCode::RefreshTokenNotFound,
    );
    // Another session of the same account is untouched.
    let again = app.login(&org.username).await;
    app.client
        .with_token(&again.basic_token.token)
        .my_programs(&PageQuery::default())
        .await
        .unwrap();
}

/// The refresh token's id is readable in every basic token; knowing it is not enough to log the
/// session out: the refresh token itself must be sent, and match the id.
async fn logout_needs_the_refresh_token_itself(app: TestApp) {
    let org = app.org("Holder").await;
    let other = app.org("Other").await;
    let session = org.login.refresh_token.token_id;
    let attempts = [
        // The id and the session's basic token (which carries that id).
        org.login.basic_token.token.clone(),
        // The id and another session's valid refresh token.
        other.login.refresh_token.token.clone(),
        // The id and garbage.
        "not-a-token".to_string(),
    ];
    for refresh_token in attempts {
        let forged = distributor_api::Token {
            token_id: session,
            token: refresh_token,
        };
        assert_code(app.client.logout(&forged).await, ErrorCode::InvalidToken);
    }
    let body = serde_json::json!({ "token_id": session });
    let response = app
        .client
        .request(reqwest::Method::DELETE, "/account/refresh-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        400,
        "the refresh token is required"
    );
    // The session survived every attempt, and the other one too.
    app.client
        .refresh_token(&org.login.refresh_token.token)
        .await
        .unwrap();
    app.client.logout(&other.login.refresh_token).await.unwrap();
    app.client.logout(&org.login.refresh_token).await.unwrap();
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    jti: String,
    sid: String,
    typ: String,
    iat: i64,
    exp: i64,
}

fn sign(claims: &Claims, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn bad_expired_forged_and_misused_tokens_are_refused(app: TestApp) {
    let org = app.org("Careful").await;
    let now = chrono::Utc::now().timestamp();
    let session = org.login.refresh_token.token_id.to_string();
    let claims = |typ: &str, exp: i64| Claims {
        sub: org.organization_id.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        sid: session.clone(),
        typ: typ.into(),
        iat: now - 100,
        exp,
    };
    let mine = |token: String| {
        let client = app.client.with_token(token);
        async move { client.my_programs(&PageQuery::default()).await }
    };
    // Sanity: a token built like the server's, with the right secret, is accepted.
    mine(sign(&claims("basic", now + 60), BASIC_SECRET))
        .await
        .unwrap();

    assert_code(
        app.client.my_programs(&PageQuery::default()).await,
        ErrorCode::InvalidToken,
    );
    assert_code(mine("garbage".into()).await, ErrorCode::InvalidToken);
    assert_code(mine(String::new()).await, ErrorCode::InvalidToken);
    let expired = sign(&claims("basic", now - 1), BASIC_SECRET);
    assert_code(mine(expired).await, ErrorCode::InvalidToken);
    let forged = sign(&claims("basic", now + 60), "not-the-server-secret");
    assert_code(mine(forged).await, ErrorCode::InvalidToken);
    let refresh_as_basic = org.login.refresh_token.token.clone();
    assert_code(mine(refresh_as_basic).await, ErrorCode::InvalidToken);
    let mut tampered = org.login.basic_token.token.clone();
    tampered.insert(tampered.len() / 2, 'x');
    assert_code(mine(tampered).await, ErrorCode::InvalidToken);

    assert_code(
        app.client.refresh_token(&org.login.basic_token.token).await,
        ErrorCode::InvalidToken,
    );
    let expired_refresh = sign(&claims("refresh", now - 1), REFRESH_SECRET);
    assert_code(
        app.client.refresh_token(&expired_refresh).await,
        ErrorCode::InvalidToken,
    );
    let forged_refresh = sign(&claims("refresh", now + 600), "nope");
    assert_code(
        app.client.refresh_token(&forged_refresh).await,
        ErrorCode::InvalidToken,
    );
    // Well signed, but never issued (no such session).
    let unknown_session = sign(&claims("refresh", now + 600), REFRESH_SECRET);
    assert_code(
        app.client.refresh_token(&unknown_session).await,
        ErrorCode::InvalidToken,
    );
}

async fn pagination_out_of_bounds_is_refused(app: TestApp) {
    for (limit, page) in [(0, 1), (51, 1), (-1, 1), (10, 0), (10, -1)] {
        assert_code(
            app.client.organizations(&PageQuery::new(limit, page)).await,
            ErrorCode::InvalidRequest,
        );
        assert_code(
            app.client.all_programs(&PageQuery::new(limit, page)).await,
            ErrorCode::InvalidRequest,
        );
    }
    let response = app
        .client
        .request(reqwest::Method::GET, "/account/organizations?limit=ten")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_REQUEST");
    assert_eq!(body["status"], "error");
    let max = app
        .client
        .organizations(&PageQuery::new(50, 1))
        .await
        .unwrap();
    assert_eq!(max.total_elements_amount, 0);
}
