/// What the tenant's admin and the support desk read about a credential's health: a short
/// title, and what to do about it in Google Cloud Console. Japanese first (the vendor's admins
/// read it first), in the style of the findings' messages. Rendered per request from the data.
public enum HealthMessages {
    /// A short title for the state, for a badge.
    public static func title(_ state: HealthState) -> LocalizedText {
        switch state {
        case .unchecked:
            LocalizedText(ja: "未確認", en: "Not checked yet")
        case .ok:
            LocalizedText(ja: "正常", en: "OK")
        case .propagating:
            LocalizedText(ja: "Google で反映待ち", en: "Being applied at Google")
        case .redirectURINotRegistered:
            LocalizedText(ja: "リダイレクト URI が未登録", en: "Redirect URI not registered")
        case .clientDeleted:
            LocalizedText(ja: "OAuth クライアントが削除されています", en: "OAuth client deleted")
        case .clientSecretInvalid:
            LocalizedText(ja: "クライアント シークレットが無効です", en: "Client secret no longer valid")
        }
    }

    /// What the state means and what to do. For `redirect_uri_not_registered`, `unregistered`
    /// are the exact URIs to add (those whose own state says so); empty, the sentence speaks of
    /// the issued redirect URIs in general.
    public static func action(_ state: HealthState, unregistered: [String] = []) -> LocalizedText {
        switch state {
        case .unchecked:
            return LocalizedText(
                ja: "Google での登録状況はまだ確認していません。確認が済むとここに表示されます。",
                en: "The registration at Google has not been checked yet. The result will show here once it is."
            )
        case .ok:
            return LocalizedText(
                ja: "発行したリダイレクト URI はすべて Google に登録されており、この認証情報は正常に使えます。",
                en: "Every issued redirect URI is registered at Google and this credential works."
            )
        case .propagating:
            return LocalizedText(
                ja: "Google がリダイレクト URI の変更を反映している途中です（数分から数時間かかります）。操作は不要です。後ほど自動で再確認します。",
                en: "Google is still applying the redirect URIs (this takes minutes to hours). Nothing to do: it is checked again automatically."
            )
        case .redirectURINotRegistered:
            let steps = (
                ja: "Google Cloud コンソールの「APIとサービス > 認証情報」で対象の OAuth クライアントを開き、「承認済みのリダイレクト URI」に追加して保存してください。",
                en: "In Google Cloud Console, open APIs & Services > Credentials > the OAuth client, add \(unregistered.count == 1 ? "it" : "them") under Authorized redirect URIs, then save."
            )
            guard !unregistered.isEmpty else {
                return LocalizedText(
                    ja: "発行したリダイレクト URI の一部が Google に登録されていません。" + steps.ja,
                    en: "Some of the issued redirect URIs are not registered at Google. " + steps.en
                )
            }
            let uris = unregistered.joined(separator: ", ")
            let lead = unregistered.count == 1 ? "This redirect URI is" : "These redirect URIs are"
            return LocalizedText(
                ja: "次のリダイレクト URI が Google に登録されていません: \(uris)。" + steps.ja,
                en: "\(lead) not registered at Google: \(uris). " + steps.en
            )
        case .clientDeleted:
            return LocalizedText(
                ja: "この OAuth クライアントは Google に存在しません（削除されています）。「APIとサービス > 認証情報」で、発行した値を使って新しい OAuth クライアント（ウェブアプリケーション）を作成し、その client_secrets.json をアップロードしてください。",
                en: "This OAuth client no longer exists at Google. In APIs & Services > Credentials, create a new OAuth client (Web application) with the issued values and upload its client_secrets.json."
            )
        case .clientSecretInvalid:
            return LocalizedText(
                ja: "クライアント シークレットが Google でリセットされたため、保存されているシークレットは使えません。「APIとサービス > 認証情報」で対象の OAuth クライアントの client_secrets.json をダウンロードし直して、アップロードしてください。",
                en: "The client secret was reset at Google, so the stored one no longer works. Download the OAuth client's client_secrets.json again from APIs & Services > Credentials and upload it."
            )
        }
    }
}

extension CredentialHealth {
    /// The redirect URIs the admin must add at Google (those found not registered).
    public var unregisteredURIs: [String] {
        uris.filter { $0.state == .redirectURINotRegistered }.map(\.uri)
    }

    public var title: LocalizedText { HealthMessages.title(state) }

    public var action: LocalizedText { HealthMessages.action(state, unregistered: unregisteredURIs) }
}
