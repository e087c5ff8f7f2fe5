import ProvisionerDomain

/// Every text of the web console's pages, in Japanese (the default) and English. The steps
/// follow the vendor's admin guide ("Googleカレンダー連携(管理者用)"), with this tenant's values.
enum ConsoleTexts {
    static let strings: [String: LocalizedText] = [
        "product": .init(ja: "Googleカレンダー連携", en: "Google Calendar link"),
        "skip": .init(ja: "本文へ移動", en: "Skip to content"),
        "language": .init(ja: "表示言語", en: "Language"),
        "signOut": .init(ja: "ログアウト", en: "Sign out"),
        "signIn": .init(ja: "ログイン", en: "Sign in"),
        "loginTitle": .init(ja: "サポートデスク ログイン", en: "Support desk sign-in"),
        "loginIntro": .init(
            ja: "support または dashboard のトークンを入力してください。お客様の管理者は、サポートデスクから届いたリンクを開いてください。",
            en: "Enter a support or dashboard token. Customer admins: open the link the support desk sent you."
        ),
        "tokenLabel": .init(ja: "トークン", en: "Token"),
        "homeTitle": .init(ja: "テナント", en: "Tenants"),
        "signedInAs": .init(ja: "ログイン中:", en: "Signed in as"),
        "slugLabel": .init(ja: "テナントのスラッグ", en: "Tenant slug"),
        "open": .init(ja: "開く", en: "Open"),
        "tenants": .init(ja: "テナント一覧", en: "Tenants"),
        "lead": .init(
            ja: "All Gather CRM(スケジュール機能)とGoogleカレンダーを連携するための設定です。上から順に進めてください。",
            en: "Set up the link between All Gather CRM (schedules) and Google Calendar. Follow the steps in order."
        ),
        "suspendedNotice": .init(
            ja: "このテナントは一時停止中です。設定の閲覧はできますが、アップロードや設定の変更はできません。サポートデスクにお問い合わせください。",
            en: "This tenant is suspended: you can read the settings, but not upload or change them. Please contact the support desk."
        ),
        "stepAccountTitle": .init(ja: "Google カレンダー連携用アカウントを用意する", en: "Prepare a Google account for the link"),
        "stepAccount": .init(
            ja: "連携設定用のGoogleアカウントが1つ必要です。全社で1つのアカウントを使用します。新規に作成しても、既存のものを利用しても構いません。",
            en: "You need one Google account for the link, used by the whole company. It can be a new account or an existing one."
        ),
        "stepProjectTitle": .init(ja: "プロジェクトを作成する", en: "Create a project"),
        "stepProject1": .init(
            ja: "Google Cloud コンソールで[プロジェクトを作成]をクリックし、次のプロジェクト名で作成します。",
            en: "In Google Cloud Console, click [Create project] and create it with this project name."
        ),
        "stepProjectLink": .init(ja: "プロジェクトの作成を開く", en: "Open project creation"),
        "projectNameLabel": .init(ja: "プロジェクト名", en: "Project name"),
        "stepClientTitle": .init(ja: "OAuth クライアント ID を作成する", en: "Create an OAuth client ID"),
        "stepClient1": .init(
            ja: "プロジェクト「All Gather CRM Google Calendar」を選択し、[認証情報]の[認証情報を作成]→[OAuth クライアント ID]をクリックします。",
            en: "Select the project \"All Gather CRM Google Calendar\", then under [Credentials] click [Create credentials] → [OAuth client ID]."
        ),
        "credentialsPageLink": .init(ja: "認証情報のページを開く", en: "Open the Credentials page"),
        "stepClient2": .init(
            ja: "同意画面を求められたら、アプリ名(サービス名)に「All Gather CRM Google Calendar」と入力して保存します。次の値を入力してください。",
            en: "If asked to configure the consent screen, enter \"All Gather CRM Google Calendar\" as the app name and save. Then enter these values."
        ),
        "applicationTypeLabel": .init(ja: "アプリケーションの種類", en: "Application type"),
        "applicationType": .init(ja: "ウェブアプリケーション", en: "Web application"),
        "nameLabel": .init(ja: "名前", en: "Name"),
        "originsLabel": .init(ja: "承認済みの JavaScript 生成元", en: "Authorized JavaScript origins"),
        "redirectsLabel": .init(ja: "承認済みのリダイレクト URI", en: "Authorized redirect URIs"),
        "uriSetVersion": .init(ja: "発行バージョン", en: "Issued version"),
        "noURISet": .init(
            ja: "まだ値が発行されていません。サポートデスクが発行するまでお待ちください。",
            en: "No values have been issued yet. Please wait until the support desk issues them."
        ),
        "stepClient3": .init(
            ja: "1行に1つずつ、表示どおりに[URI を追加]で入力し、[作成]をクリックします。クライアント ID とクライアント シークレットが発行されます。",
            en: "Add each value on its own line exactly as shown with [Add URI], then click [Create]. The client ID and client secret are issued."
        ),
        "stepCalendarAPITitle": .init(ja: "Calendar API を有効にする", en: "Enable the Calendar API"),
        "stepCalendarAPI": .init(
            ja: "[APIとサービスの有効化]から[Google Calendar API]を選択し、[有効にする]をクリックします。",
            en: "Under [Enable APIs and services], choose [Google Calendar API] and click [Enable]."
        ),
        "calendarAPILink": .init(ja: "Google Calendar API を開く", en: "Open Google Calendar API"),
        "stepDownloadTitle": .init(ja: "JSON ファイルをダウンロードする", en: "Download the JSON file"),
        "stepDownload": .init(
            ja: "作成した OAuth クライアントの[JSON をダウンロード]をクリックして保存し、ファイル名を「client_secrets.json」に変更します。",
            en: "Click [Download JSON] on the OAuth client you created, save it, and rename the file to \"client_secrets.json\"."
        ),
        "stepUploadTitle": .init(ja: "client_secrets.json をアップロードする", en: "Upload client_secrets.json"),
        "fileLabel": .init(ja: "client_secrets.json ファイル", en: "client_secrets.json file"),
        "secretLabel": .init(ja: "クライアント シークレット(任意)", en: "Client secret (optional)"),
        "secretHelp": .init(
            ja: "ダウンロードした JSON にシークレットが含まれていない場合のみ入力してください(Google はシークレットを作成時にしか表示しません)。",
            en: "Only when the downloaded JSON has no secret (Google shows a secret only when it is created)."
        ),
        "upload": .init(ja: "アップロードして検証する", en: "Upload and verify"),
        "readOnly": .init(ja: "この画面では変更できません。", en: "You cannot change anything here."),
        "latestUpload": .init(ja: "最新のアップロード", en: "Newest upload"),
        "stateLabel": .init(ja: "状態", en: "State"),
        "healthTitle": .init(ja: "Google での認証情報の状態", en: "Credential health at Google"),
        "healthIntro": .init(
            ja: "使用中の認証情報(検証済みの client_secrets.json)が Google で正しく使えるかを定期的に確認しています。",
            en: "The credential in use (the verified client_secrets.json) is checked at Google regularly."
        ),
        "checkedAtLabel": .init(ja: "確認日時", en: "Checked at"),
        "healthURIsTitle": .init(ja: "リダイレクト URI ごとの状態", en: "State of each redirect URI"),
        "redirectURILabel": .init(ja: "リダイレクト URI", en: "Redirect URI"),
        "checking": .init(ja: "検証中です…", en: "Checking…"),
        "uploadedAt": .init(ja: "アップロード日時", en: "Uploaded at"),
        "fieldLabel": .init(ja: "項目", en: "Field"),
        "found": .init(ja: "入力されている値", en: "Found"),
        "expected": .init(ja: "正しい値", en: "Expected"),
        "nearMiss": .init(ja: "惜しい:", en: "Near miss:"),
        "verifyAgain": .init(ja: "もう一度検証する", en: "Verify again"),
        "verifyAgainHelp": .init(
            ja: "Google Cloud コンソールで修正した後に押してください。",
            en: "Press after fixing the client in Google Cloud Console."
        ),
        "noUpload": .init(ja: "まだアップロードされていません。", en: "Nothing has been uploaded yet."),
        "stepSettingsTitle": .init(ja: "カレンダー連携を設定する", en: "Calendar settings"),
        "syncLabel": .init(ja: "Googleカレンダーと連携する", en: "Sync with Google Calendar"),
        "syncDisabledReason": .init(
            ja: "検証済みの client_secrets.json がまだないため、連携はオンにできません。",
            en: "Sync can be turned on once a client_secrets.json has been verified."
        ),
        "colorLegend": .init(
            ja: "Googleカレンダーで表示する際の背景色(初期値)",
            en: "Default background colour of synced events in Google Calendar"
        ),
        "save": .init(ja: "保存する", en: "Save"),
        "copy": .init(ja: "コピー", en: "Copy"),
        "copied": .init(ja: "コピーしました", en: "Copied"),
        "saved": .init(ja: "保存しました。", en: "Saved."),
        "uploaded": .init(ja: "アップロードしました。検証の結果を下に表示します。", en: "Uploaded. The verdict shows below."),
        "verifying": .init(ja: "再検証を依頼しました。", en: "Verification requested again."),
        "error": .init(ja: "エラー", en: "Error"),
        "warning": .init(ja: "警告", en: "Warning"),
        // The support desk's pages.
        "deskNav": .init(ja: "サポートデスク", en: "Support desk"),
        "auditTitle": .init(ja: "監査ログ", en: "Audit log"),
        "countsTitle": .init(ja: "状態ごとのテナント数", en: "Tenants by state"),
        "allStates": .init(ja: "すべて", en: "All"),
        "searchTitle": .init(ja: "絞り込み", en: "Filter"),
        "stateFilterLabel": .init(ja: "状態", en: "State"),
        "searchLabel": .init(ja: "検索(スラッグまたは名前)", en: "Search (slug or name)"),
        "search": .init(ja: "検索する", en: "Search"),
        "noTenants": .init(ja: "該当するテナントはありません。", en: "No tenant matches."),
        "nextPage": .init(ja: "次のページ", en: "Next page"),
        "pages": .init(ja: "ページ", en: "Pages"),
        "firstPage": .init(ja: "最初のページ", en: "First page"),
        "tenantName": .init(ja: "表示名", en: "Display name"),
        "updatedAt": .init(ja: "更新日時", en: "Updated at"),
        "createTenantTitle": .init(ja: "テナントを作成する", en: "Create a tenant"),
        "newSlugLabel": .init(ja: "スラッグ(英小文字・数字・ハイフン)", en: "Slug (lower-case letters, digits, hyphens)"),
        "displayNameLabel": .init(ja: "表示名", en: "Display name"),
        "create": .init(ja: "作成する", en: "Create"),
        "createdNotice": .init(ja: "テナントを作成しました。", en: "The tenant was created."),
        "filterTenantLabel": .init(ja: "テナントのスラッグ", en: "Tenant slug"),
        "filterActionLabel": .init(ja: "操作(例: tenant.create)", en: "Action (e.g. tenant.create)"),
        "filter": .init(ja: "絞り込む", en: "Filter"),
        "noEvents": .init(ja: "該当する記録はありません。", en: "No event matches."),
        "atLabel": .init(ja: "日時", en: "At"),
        "actorLabel": .init(ja: "実行者", en: "Actor"),
        "tenantLabel": .init(ja: "テナント", en: "Tenant"),
        "actionLabel": .init(ja: "操作", en: "Action"),
        "targetLabel": .init(ja: "対象", en: "Target"),
        "resultLabel": .init(ja: "結果", en: "Result"),
        "backToTenants": .init(ja: "テナント一覧へ", en: "Back to the tenants"),
        "deskSection": .init(ja: "サポートデスク用", en: "For the support desk"),
        "uriSetsTitle": .init(ja: "URI セット", en: "URI sets"),
        "issueURISet": .init(ja: "URI セットを発行する", en: "Issue a URI set"),
        "customDomainLabel": .init(ja: "カスタムドメイン(空欄なら既定のホスト)", en: "Custom domain (empty for the default host)"),
        "customDomainHelp": .init(
            ja: "発行すると、それまでの URI セットは置き換えられます。",
            en: "Issuing replaces the URI set issued before."
        ),
        "issue": .init(ja: "発行する", en: "Issue"),
        "versionLabel": .init(ja: "バージョン", en: "Version"),
        "hostLabel": .init(ja: "ホスト", en: "Host"),
        "issuedAtLabel": .init(ja: "発行日時", en: "Issued at"),
        "issuedByLabel": .init(ja: "発行者", en: "Issued by"),
        "supersededAtLabel": .init(ja: "置き換え日時", en: "Replaced at"),
        "currentLabel": .init(ja: "現在", en: "current"),
        "noURISets": .init(ja: "まだ発行されていません。", en: "Nothing has been issued yet."),
        "setupSheet": .init(ja: "設定シート", en: "Setup sheet"),
        "openSetupSheet": .init(ja: "設定シートを開く", en: "Open the setup sheet"),
        "uploadsTitle": .init(ja: "アップロード履歴", en: "Uploads"),
        "uploadedByLabel": .init(ja: "アップロードした人", en: "Uploaded by"),
        "noFindings": .init(ja: "指摘はありません。", en: "No findings."),
        "linksTitle": .init(ja: "オンボーディングリンク", en: "Onboarding links"),
        "createLink": .init(ja: "リンクを作成する", en: "Create a link"),
        "expiresInLabel": .init(ja: "有効期間(時間、1〜168)", en: "Valid for (hours, 1 to 168)"),
        "newLinkNotice": .init(
            ja: "リンクを作成しました。この URL は今だけ表示されます。コピーしてお客様の管理者に送ってください。",
            en: "The link was created. This URL is shown only now: copy it and send it to the customer's admin."
        ),
        "expiresAtLabel": .init(ja: "有効期限", en: "Expires at"),
        "createdAtLabel": .init(ja: "作成日時", en: "Created at"),
        "useCountLabel": .init(ja: "使用回数", en: "Uses"),
        "lastUsedLabel": .init(ja: "最終使用", en: "Last used"),
        "revoke": .init(ja: "無効にする", en: "Revoke"),
        "noLinks": .init(ja: "リンクはまだありません。", en: "No link yet."),
        "link_active": .init(ja: "有効", en: "active"),
        "link_expired": .init(ja: "期限切れ", en: "expired"),
        "link_revoked": .init(ja: "無効", en: "revoked"),
        "suspensionTitle": .init(ja: "一時停止", en: "Suspension"),
        "suspendedState": .init(ja: "このテナントは一時停止中です。", en: "This tenant is suspended."),
        "activeState": .init(ja: "このテナントは稼働中です。", en: "This tenant is active."),
        "suspend": .init(ja: "一時停止する", en: "Suspend"),
        "resume": .init(ja: "再開する", en: "Resume"),
        "issued": .init(ja: "URI セットを発行しました。", en: "The URI set was issued."),
        "revoked": .init(ja: "リンクを無効にしました。", en: "The link was revoked."),
        "suspendedDone": .init(ja: "一時停止しました。", en: "The tenant is suspended."),
        "resumed": .init(ja: "再開しました。", en: "The tenant is active again."),
    ]

    static let tenantStates: [String: LocalizedText] = [
        "suspended": .init(ja: "一時停止中", en: "suspended"),
        "awaiting_uris": .init(ja: "URI 発行待ち", en: "awaiting URIs"),
        "awaiting_upload": .init(ja: "アップロード待ち", en: "awaiting upload"),
        "verifying": .init(ja: "検証中", en: "verifying"),
        "verified": .init(ja: "検証済み", en: "verified"),
        "rejected": .init(ja: "不備あり", en: "rejected"),
    ]

    /// The strings of one language, for the templates' `t`.
    static func table(_ language: Language) -> [String: String] {
        strings.mapValues { $0.text(in: language) }
    }

    static func text(_ key: String, _ language: Language) -> String {
        strings[key]?.text(in: language) ?? key
    }

    /// Google Calendar's 11 event colours (`colorId` "1".."11") and their names in Google's UI.
    static let eventColors: [(id: String, ja: String, en: String)] = [
        ("1", "ラベンダー", "Lavender"), ("2", "セージ", "Sage"), ("3", "ブドウ", "Grape"), ("4", "フラミンゴ", "Flamingo"),
        ("5", "バナナ", "Banana"), ("6", "ミカン", "Tangerine"), ("7", "ピーコック", "Peacock"), ("8", "グラファイト", "Graphite"),
        ("9", "ブルーベリー", "Blueberry"), ("10", "バジル", "Basil"), ("11", "トマト", "Tomato"),
    ]

    static let credentialStates: [String: LocalizedText] = [
        "pending": .init(ja: "検証待ち", en: "waiting to be verified"),
        "verifying": .init(ja: "検証中", en: "being verified"),
        "verified": .init(ja: "検証済み・有効", en: "verified"),
        "rejected": .init(ja: "不備があります(下の指摘をご確認ください)", en: "rejected (see the findings below)"),
        "superseded": .init(ja: "新しいアップロードに置き換え済み", en: "replaced by a newer upload"),
    ]

    static let nearMisses: [NearMiss: LocalizedText] = [
        .trailingSlash: .init(ja: "末尾の「/」が違います。", en: "A trailing \"/\" differs."),
        .schemeHTTP: .init(ja: "https ではなく http になっています。", en: "It says http where https was issued."),
        .letterCase: .init(ja: "大文字と小文字が違います。", en: "Upper and lower case differ."),
        .surroundingSpaces: .init(ja: "前後に空白があります。", en: "There are spaces before or after it."),
        .port: .init(ja: "ポート番号(:443 など)が付いています。", en: "It carries a port such as :443."),
        .callbackInOrigins: .init(
            ja: "リダイレクト URI が「JavaScript 生成元」に入力されています。",
            en: "The redirect URI was entered under JavaScript origins."
        ),
        .originInRedirects: .init(
            ja: "JavaScript 生成元が「リダイレクト URI」に入力されています。",
            en: "The origin was entered under redirect URIs."
        ),
    ]
}
