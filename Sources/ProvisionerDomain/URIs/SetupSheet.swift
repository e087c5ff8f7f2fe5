/// The setup sheet a tenant's admin follows to create the Google OAuth client for the
/// cloud edition: the vendor's admin guide (the seed document), with the support desk's
/// issued values filled in where the guide says "contact the support desk".
///
/// Every issued value is written verbatim on a line of its own inside a fenced code
/// block (one block per list) so that it can be copied exactly: Google compares
/// redirect URIs character by character, and a stray space or slash breaks the link.
public enum SetupSheet {
    /// The Google Cloud project and OAuth client name the vendor's guide prescribes.
    public static let projectName = "All Gather CRM Google Calendar"

    public static func markdown(
        tenantDisplayName: String,
        slug: String,
        uriSet: IssuedURISet,
        language: Language
    ) -> String {
        let name = escapeInline(tenantDisplayName)
        let slugText = inlineCode(slug)
        let texts = language == .en ? english : japanese
        var lines: [String] = []
        lines.append("# " + texts.title)
        lines.append("")
        lines.append("- \(texts.tenant): \(name)")
        lines.append("- \(texts.slug): \(slugText)")
        lines.append("- \(texts.version): \(uriSet.version)")
        lines.append("- \(texts.host): \(inlineCode(uriSet.host))")
        lines.append("")
        lines.append(texts.intro)
        lines.append("")
        for (index, section) in texts.sections(uriSet).enumerated() {
            lines.append("## \(index + 1). \(section.heading)")
            lines.append("")
            lines.append(contentsOf: section.body)
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// Same sheet, from a validated slug.
    public static func markdown(
        tenantDisplayName: String,
        slug: TenantSlug,
        uriSet: IssuedURISet,
        language: Language
    ) -> String {
        markdown(tenantDisplayName: tenantDisplayName, slug: slug.rawValue, uriSet: uriSet, language: language)
    }

    // MARK: - Escaping

    /// Makes text safe inline. Line breaks and other control or format characters
    /// become spaces, so the text stays mid-line and cannot start a block (heading,
    /// list, fence); then every character that can open inline markup mid-line (emphasis,
    /// code, links and images, autolinks and HTML, entities, table cells, strike-through,
    /// math) is backslash-escaped, which CommonMark allows for any ASCII punctuation.
    /// Characters that only matter after one of those (`(` after `]`, `!` before `[`) or at
    /// the start of a line (`#`, `-`, `.`) are left alone, so a company name such as
    /// "(株) Acme #1" reads in the raw Markdown exactly as it was entered.
    public static func escapeInline(_ text: String) -> String {
        var output = ""
        output.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator
                || scalar.properties.generalCategory == .format {
                output.unicodeScalars.append(" ")
            } else if scalar.isASCII, isASCIIPunctuation(scalar) {
                output.unicodeScalars.append("\\")
                output.unicodeScalars.append(scalar)
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static func isASCIIPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\\", "`", "*", "_", "[", "]", "|", "<", ">", "&", "~", "$": true
        default: false
        }
    }

    /// A code span for identifiers (slug, host) so they read as typed; falls back to
    /// escaping when the text could break out of the span.
    static func inlineCode(_ text: String) -> String {
        let safe = !text.isEmpty && text.unicodeScalars.allSatisfy { $0 != "`" && $0.value >= 0x20 && $0.value != 0x7F && $0.isASCII }
        return safe ? "`" + text + "`" : escapeInline(text)
    }

    /// A fenced code block holding each value on its own line. The fence is longer than
    /// any run of backticks in the values, so no value can close it early.
    static func codeBlock(_ values: [String]) -> [String] {
        var longestRun = 0
        for value in values {
            var run = 0
            for character in value {
                run = character == "`" ? run + 1 : 0
                longestRun = max(longestRun, run)
            }
        }
        let fence = String(repeating: "`", count: max(3, longestRun + 1))
        return [fence + "text"] + values + [fence]
    }

    // MARK: - Texts

    private struct Section: Sendable {
        var heading: String
        var body: [String]
    }

    private struct Texts: Sendable {
        var title: String
        var tenant: String
        var slug: String
        var version: String
        var host: String
        var intro: String
        var sections: @Sendable (IssuedURISet) -> [Section]
    }

    private static let japanese = Texts(
        title: "Googleカレンダー連携 設定シート(クラウド版・管理者用)",
        tenant: "お客様",
        slug: "テナントID(スラッグ)",
        version: "URIセットのバージョン",
        host: "ホスト名",
        intro: "All Gather CRM(スケジュール機能)とGoogleカレンダーを連携するための設定手順です。"
            + "下記の「承認済みの JavaScript 生成元」と「承認済みのリダイレクト URI」は、サポートデスクがお客様専用に発行した値です。"
            + "コードブロック内の値を1行ずつ、前後に空白を入れずにそのままコピーして入力してください。"
            + "※Google の画面の表示は変更される場合があります。",
        sections: { set in
            [
                Section(heading: "Google カレンダー連携用アカウントを用意する", body: [
                    "連携設定用の Google アカウントを1つご用意ください。全社で1つのアカウントを使用します。新規に作成しても、既存のアカウントを使用しても構いません。",
                ]),
                Section(heading: "プロジェクトを作成する", body: [
                    "1. [https://console.developers.google.com/project](https://console.developers.google.com/project) にアクセスし、Google APIs の画面を開きます。",
                    "2. [プロジェクトを作成] をクリックします。",
                    "3. [プロジェクト名] に「\(projectName)」と入力し、[作成] をクリックします。",
                ]),
                Section(heading: "OAuth 同意画面を設定する", body: [
                    "1. 左上のプルダウンから [\(projectName)] を選択します。",
                    "2. [認証情報] を選択し、[認証情報を作成] > [OAuth クライアント ID] をクリックします。",
                    "3. [同意画面を設定] をクリックし、[サービス名]（アプリ名）に「\(projectName)」と入力して [保存] をクリックします。",
                ]),
                Section(heading: "OAuth クライアント ID を作成する", body: [
                    "1. [アプリケーションの種類] から「ウェブアプリケーション」を選択します。",
                    "2. [名前] に「\(projectName)」と入力します。",
                    "3. [承認済みの JavaScript 生成元] に、次の値を1行ずつ追加します。",
                    "",
                ] + codeBlock(set.javascriptOrigins) + [
                    "",
                    "4. [承認済みのリダイレクト URI] に、次の値を1行ずつ追加します。",
                    "",
                ] + codeBlock(set.redirectURIs) + [
                    "",
                    "5. [作成] をクリックします。クライアント ID とクライアントシークレットが発行されます。",
                ]),
                Section(heading: "Google Calendar API を有効にする", body: [
                    "1. [API とサービスの有効化] をクリックします。",
                    "2. [Google Calendar API] を選択し、[有効にする] をクリックします。",
                ]),
                Section(heading: "JSON ファイルをダウンロードする", body: [
                    "1. 作成した OAuth クライアントの [JSON をダウンロード] をクリックし、ファイルを保存します。",
                    "   ※クライアントシークレットは作成時にしか表示されない場合があります。JSON はクライアント作成直後にダウンロードしてください。シークレットが含まれていない場合は、新しいシークレットを追加してすぐに JSON をダウンロードしてください。",
                    "2. ダウンロードしたファイルの名前を「client_secrets.json」に変更します。",
                ]),
                Section(heading: "All Gather CRM で連携設定をする", body: [
                    "1. 右上の [ようこそ、(ユーザー名)さん] > [システム設定] をクリックし、[システム運用設定] を開きます。",
                    "2. [ファイル] > [データを編集する] をクリックします。",
                    "3. [グループウェア] タブで [Googleカレンダーと連携する] にチェックを入れます。",
                    "4. [Google連携用Jsonファイル(管理者)] の右側のボタンをクリックし、client_secrets.json を選択して [開く] をクリックします。"
                        + "(本サービスの画面または API からアップロードすることもできます。アップロードしたファイルは、上記の発行値と一致するか自動で検証されます。)",
                    "5. 連携したスケジュールを Google カレンダーで表示する際の背景色(初期値)を選択します。",
                    "6. [ファイル] > [保存する] を選択し、設定を保存します。",
                    "7. 最後に、各ユーザーごとに Google カレンダー連携の操作を行ってください。",
                ]),
            ]
        }
    )

    private static let english = Texts(
        title: "Google Calendar link setup sheet (cloud edition, for administrators)",
        tenant: "Customer",
        slug: "Tenant ID (slug)",
        version: "URI set version",
        host: "Host name",
        intro: "These steps link All Gather CRM (schedules) with Google Calendar. "
            + "The authorized JavaScript origins and authorized redirect URIs below were issued by the support desk for your company only. "
            + "Copy each value in the code blocks line by line, exactly as shown, with no spaces before or after. "
            + "Google's screens may differ slightly from these steps.",
        sections: { set in
            [
                Section(heading: "Prepare a Google account for the link", body: [
                    "Prepare one Google account for the link: the whole company uses one account. It may be a new account or an existing one.",
                ]),
                Section(heading: "Create a project", body: [
                    "1. Open [https://console.developers.google.com/project](https://console.developers.google.com/project) (Google APIs).",
                    "2. Click [Create project].",
                    "3. Enter \"\(projectName)\" as the project name and click [Create].",
                ]),
                Section(heading: "Configure the OAuth consent screen", body: [
                    "1. Select [\(projectName)] in the project drop-down at the top left.",
                    "2. Open [Credentials], click [Create credentials] > [OAuth client ID].",
                    "3. Click [Configure consent screen], enter \"\(projectName)\" as the application (service) name and click [Save].",
                ]),
                Section(heading: "Create the OAuth client ID", body: [
                    "1. Choose \"Web application\" as the application type.",
                    "2. Enter \"\(projectName)\" as the name.",
                    "3. Under [Authorized JavaScript origins], add each of these values, one per line:",
                    "",
                ] + codeBlock(set.javascriptOrigins) + [
                    "",
                    "4. Under [Authorized redirect URIs], add each of these values, one per line:",
                    "",
                ] + codeBlock(set.redirectURIs) + [
                    "",
                    "5. Click [Create]. Google shows the client ID and the client secret.",
                ]),
                Section(heading: "Enable the Google Calendar API", body: [
                    "1. Click [Enable APIs and services].",
                    "2. Select [Google Calendar API] and click [Enable].",
                ]),
                Section(heading: "Download the JSON file", body: [
                    "1. Click [Download JSON] for the OAuth client and save the file.",
                    "   Google may show the client secret only when it is created: download the JSON right after creating the client. If the file has no secret, add a new secret and download the JSON at once.",
                    "2. Rename the downloaded file to \"client_secrets.json\".",
                ]),
                Section(heading: "Set up the link in All Gather CRM", body: [
                    "1. Click [Welcome, (user name)] > [System settings] at the top right and open [System operation settings] (システム運用設定).",
                    "2. Click [File] > [Edit data].",
                    "3. On the [Groupware] (グループウェア) tab, tick [Link with Google Calendar] (Googleカレンダーと連携する).",
                    "4. Click the button to the right of [JSON file for Google link (administrator)] (Google連携用Jsonファイル(管理者)), choose client_secrets.json and click [Open]. "
                        + "(You can also upload the file through this service's screen or API; every upload is checked automatically against the values above.)",
                    "5. Choose the default background colour of synced events in Google Calendar.",
                    "6. Click [File] > [Save] to save the settings.",
                    "7. Finally, each user links their own Google Calendar.",
                ]),
            ]
        }
    )
}
