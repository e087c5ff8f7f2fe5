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
        "tenants": .init(ja: "最近のテナント", en: "Recent tenants"),
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
