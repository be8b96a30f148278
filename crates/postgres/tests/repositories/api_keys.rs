//! API keys: authentication until revoked, by their own organization only.

use crate::helpers::*;
use partneros_domain::identity::model::{ActiveMembership, Credential, Principal};
use partneros_domain::identity::ports::{ApiKeyStore, IdentityStore};
use partneros_domain::identity::role::Role;

#[tokio::test]
async fn api_keys_authenticate_until_revoked_by_their_own_organization() {
    let (_db, store) = setup().await;
    let now = t0();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    let key = api_key(acme, Role::Admin, now);
    let (id, cred) = (key.key.id, Credential::ApiKey(key.token.hash));
    store.create_api_key(key).await.unwrap();

    let expected = Some(Principal::ApiKey {
        key_id: id,
        membership: ActiveMembership {
            organization_id: acme,
            role: Role::Admin,
            partner_id: None,
        },
    });
    assert_eq!(store.authenticate(cred, now).await.unwrap(), expected);
    let listed = store.list_api_keys(acme).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(now));
    assert!(store.list_api_keys(other).await.unwrap().is_empty());

    // Another organization cannot revoke it.
    assert!(!store.revoke_api_key(other, id, now).await.unwrap());
    assert_eq!(store.authenticate(cred, now).await.unwrap(), expected);

    assert!(store.revoke_api_key(acme, id, now).await.unwrap());
    assert_eq!(store.authenticate(cred, now).await.unwrap(), None);
    assert!(!store.revoke_api_key(acme, id, now).await.unwrap());
    assert!(store.list_api_keys(acme).await.unwrap().is_empty());
}
