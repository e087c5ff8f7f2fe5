/// The sentences tenant admins read: what is wrong, and what to do about it in
/// Google Cloud Console. Rendered per request because the store keeps only the data.
extension Finding {
    public func message(in language: Language) -> String {
        localizedMessage.text(in: language)
    }

    public var localizedMessage: LocalizedText {
        let value = self.value ?? ""
        let expected = self.expected ?? ""
        switch code {
        case .jsonNotObject:
            return LocalizedText(
                ja: "アップロードされたファイルは JSON オブジェクトではありません。Google Cloud コンソールの「APIとサービス > 認証情報」で OAuth クライアントの JSON をダウンロードし、内容を編集せずに client_secrets.json としてアップロードしてください。",
                en: "The uploaded file is not a JSON object. In Google Cloud Console, open APIs & Services > Credentials, download the OAuth client's JSON and upload it unchanged as client_secrets.json."
            )
        case .clientTypeInstalled:
            return LocalizedText(
                ja: "このファイルはデスクトップ アプリ用の OAuth クライアントのものです。Google Cloud コンソールの「APIとサービス > 認証情報」で「認証情報を作成 > OAuth クライアント ID」を選び、アプリケーションの種類に「ウェブアプリケーション」を指定して新しいクライアントを作成し、その JSON をアップロードしてください。",
                en: "This file belongs to a Desktop app OAuth client. In Google Cloud Console, open APIs & Services > Credentials, choose Create credentials > OAuth client ID, select the application type \"Web application\", create the client and upload its JSON."
            )
        case .clientTypeUnknown:
            let keysJa = self.value.map { "（最上位のキー: \($0)）" } ?? "（最上位のキーがありません）"
            let keysEn = self.value.map { " (top-level keys: \($0))" } ?? " (it has no top-level key)"
            return LocalizedText(
                ja: "ファイルの種類を判別できません\(keysJa)。ウェブアプリケーションの OAuth クライアントの JSON は、最上位に「web」キーだけを持ちます。「APIとサービス > 認証情報」からダウンロードした JSON を、編集せずにアップロードしてください。",
                en: "The type of this file cannot be determined\(keysEn). The JSON of a Web application OAuth client has a single top-level key \"web\". Upload the JSON downloaded from APIs & Services > Credentials without editing it."
            )
        case .fieldMissing:
            let field = self.field ?? "?"
            return LocalizedText(
                ja: "必須の項目「\(field)」がないか、文字列ではありません。ファイルが編集されたか、途中で切れている可能性があります。「APIとサービス > 認証情報」で OAuth クライアントの JSON をダウンロードし直して、アップロードしてください。",
                en: "The required field \"\(field)\" is missing or is not a string. The file may have been edited or cut short. Download the OAuth client's JSON again from APIs & Services > Credentials and upload it."
            )
        case .clientIDMalformed:
            return LocalizedText(
                ja: "クライアント ID「\(value)」は、Google の OAuth クライアント ID の形式（数字-英数字.apps.googleusercontent.com）ではありません。「APIとサービス > 認証情報」からダウンロードした JSON を、編集せずにアップロードしてください。",
                en: "The client ID \"\(value)\" is not in the format of a Google OAuth client ID (<digits>-<lowercase letters and digits>.apps.googleusercontent.com). Upload the JSON downloaded from APIs & Services > Credentials without editing it."
            )
        case .clientSecretMissing:
            return LocalizedText(
                ja: "ファイルにクライアント シークレットが含まれていません。現在の Google Cloud コンソールでは、クライアント シークレットは作成時にしか表示・ダウンロードできません。「APIとサービス > 認証情報」で対象の OAuth クライアントを開き、「シークレットを追加」で新しいシークレットを作成したら、その場で JSON をダウンロードしてアップロードしてください。",
                en: "The file contains no client secret. Google Cloud Console now shows a client secret only when it is created. In APIs & Services > Credentials, open the OAuth client, click Add secret, download the JSON right away and upload that file."
            )
        case .clientSecretUnusual:
            return LocalizedText(
                ja: "クライアント シークレットの形式が通常と異なります（通常は「GOCSPX-」で始まる 35 文字です）。ファイルが編集されていないかご確認ください。編集していない場合は、このままお使いいただけます。",
                en: "The client secret does not look like a usual Google client secret (normally 35 characters starting with \"GOCSPX-\"). Check that the file was not edited; if it was not, you can keep using it."
            )
        case .authURIUnexpected:
            return LocalizedText(
                ja: "auth_uri が Google の認可エンドポイントではありません（ファイルの値: 「\(value)」、正しい値: 「\(expected)」）。ファイルを編集せず、「APIとサービス > 認証情報」からダウンロードし直した JSON をアップロードしてください。",
                en: "auth_uri is not Google's authorization endpoint (the file has \"\(value)\", expected \"\(expected)\"). Download the JSON again from APIs & Services > Credentials and upload it without editing it."
            )
        case .tokenURIUnexpected:
            return LocalizedText(
                ja: "token_uri が Google のトークン エンドポイントではありません（ファイルの値: 「\(value)」、正しい値: 「\(expected)」）。ファイルを編集せず、「APIとサービス > 認証情報」からダウンロードし直した JSON をアップロードしてください。",
                en: "token_uri is not Google's token endpoint (the file has \"\(value)\", expected \"\(expected)\"). Download the JSON again from APIs & Services > Credentials and upload it without editing it."
            )
        case .redirectURIMissing:
            return missingMessage(own: .redirects)
        case .javascriptOriginMissing:
            return missingMessage(own: .origins)
        case .redirectURIUnexpected:
            return unexpectedMessage(.redirects)
        case .javascriptOriginUnexpected:
            return unexpectedMessage(.origins)
        case .uriSetNotIssued:
            return LocalizedText(
                ja: "このテナントにはまだリダイレクト URI と JavaScript 生成元が発行されていないため、検証できません。サポート窓口にお問い合わせください。発行された値を OAuth クライアントに登録したうえで、JSON をアップロードし直してください。",
                en: "No redirect URIs and JavaScript origins have been issued to this tenant yet, so the file cannot be verified. Please contact the support desk, enter the issued values in the OAuth client, and upload its JSON again."
            )
        case .clientIDInUse:
            return LocalizedText(
                ja: "クライアント ID「\(value)」は、別のテナントで現在使用中の認証情報と同じです。テナントごとに専用の Google Cloud プロジェクトと OAuth クライアントを作成してご利用ください。",
                en: "The client ID \"\(value)\" is the active credential of another tenant. Please create a dedicated Google Cloud project and OAuth client for each tenant."
            )
        case .liveClientNotFound:
            return LocalizedText(
                ja: "Google に確認したところ、この OAuth クライアント\(self.value.map { "（\($0)）" } ?? "")は存在しないか、削除されています。「APIとサービス > 認証情報」でクライアントが存在することを確認し、削除されている場合は新しく作成して、その JSON をアップロードしてください。",
                en: "Google reports that this OAuth client\(self.value.map { " (\($0))" } ?? "") does not exist or has been deleted. Check in APIs & Services > Credentials that the client exists; if it was deleted, create a new one and upload its JSON."
            )
        case .liveClientSecretInvalid:
            return LocalizedText(
                ja: "Google に確認したところ、クライアント シークレットが正しくありません（無効化または削除された可能性があります）。「APIとサービス > 認証情報」で対象の OAuth クライアントを開き、「シークレットを追加」で新しいシークレットを作成したら、その場で JSON をダウンロードしてアップロードしてください。",
                en: "Google reports that the client secret is wrong (it may have been disabled or deleted). In APIs & Services > Credentials, open the OAuth client, click Add secret, download the JSON right away and upload that file."
            )
        case .liveCheckUnavailable:
            return LocalizedText(
                ja: "Google から応答がなかったため、クライアント ID とシークレットの組み合わせを Google に確認できませんでした。ほかの検査は完了しています。しばらくしてから再検証してください。",
                en: "Google did not answer, so the pair of client ID and client secret could not be confirmed with Google. All other checks are complete. Please request verification again later."
            )
        case .verificationFailed:
            return LocalizedText(
                ja: "システムの問題により検証を完了できませんでした。お手数ですが、しばらくしてから再検証してください。解決しない場合はサポート窓口にお問い合わせください。",
                en: "Verification could not be completed because of a problem on our side. Please request verification again later, and contact the support desk if it keeps failing."
            )
        case .tooManyURIs:
            let list: URIList = field == "web.javascript_origins" ? .origins : .redirects
            let count = self.value ?? "?"
            return LocalizedText(
                ja: "「\(list.label.ja)」に \(count) 件の値が登録されています。発行された値のほかに登録が必要なものはないため、先頭の \(expected) 件だけを確認しました。"
                    + Self.consoleJa + "不要な値を削除し、サポート窓口が発行した値だけを残して" + Self.downloadJa,
                en: "\(list.label.en) hold \(count) entries; only the first \(expected) were checked, as nothing beyond the issued values is needed. "
                    + Self.consoleEn + "remove the entries you do not need, keep the values issued by the support desk, " + Self.downloadEn
            )
        case .findingsTruncated:
            let omitted = self.value ?? "?"
            return LocalizedText(
                ja: "指摘事項が多いため、ほかに \(omitted) 件の指摘を省略しました（エラーを優先して表示しています）。表示されている指摘を修正して JSON をアップロードし直すと、残りの指摘も確認できます。",
                en: "There are too many findings to list: \(omitted) more were left out (errors were kept before warnings). Fix the findings shown and upload the JSON again to see the rest."
            )
        case .clientSecretCarriedOver:
            return LocalizedText(
                ja: "アップロードされたファイルにはクライアント シークレットが含まれていなかったため、同じクライアント ID で以前にアップロードされたファイル（アップロード ID: \(value)）のシークレットを引き継ぎました。"
                    + "Google Cloud コンソールでそのシークレットを削除または無効にした場合は、連携できません。その場合は「APIとサービス > 認証情報」で対象の OAuth クライアントを開き、「シークレットを追加」で新しいシークレットを作成して、その場でダウンロードした JSON をアップロードしてください。",
                en: "The uploaded file contains no client secret, so the secret of an earlier upload with the same client ID (upload ID: \(value)) was carried over. "
                    + "If that secret was deleted or disabled in Google Cloud Console, the integration will not work: then open the OAuth client in APIs & Services > Credentials, click Add secret, and upload the JSON you download right away."
            )
        }
    }

    /// The two URI lists of an OAuth client, as the console labels them.
    private enum URIList {
        case redirects
        case origins

        var label: LocalizedText {
            switch self {
            case .redirects: LocalizedText(ja: "承認済みのリダイレクト URI", en: "Authorized redirect URIs")
            case .origins: LocalizedText(ja: "承認済みの JavaScript 生成元", en: "Authorized JavaScript origins")
            }
        }

        var other: URIList { self == .redirects ? .origins : .redirects }
    }

    private static let consoleJa = "Google Cloud コンソールの「APIとサービス > 認証情報」で対象の OAuth クライアントを開き、"
    private static let consoleEn = "In Google Cloud Console, open APIs & Services > Credentials and the OAuth client, "
    private static let downloadJa = "保存してから JSON をダウンロードし直し、アップロードしてください。"
    private static let downloadEn = "save, then download the JSON again and upload it."

    private func missingMessage(own list: URIList) -> LocalizedText {
        let expected = self.expected ?? ""
        let value = self.value ?? ""
        let ownJa = list.label.ja
        let ownEn = list.label.en
        let otherJa = list.other.label.ja
        let otherEn = list.other.label.en
        let headJa = "「\(ownJa)」に、サポート窓口が発行した「\(expected)」が登録されていません。"
        let headEn = "\(ownEn) do not contain \"\(expected)\" exactly as issued by the support desk. "
        let wrongPlace = hint == .callbackInOrigins || hint == .originInRedirects
        guard let hint, self.value != nil else {
            return LocalizedText(
                ja: headJa + Self.consoleJa + "「\(ownJa)」に「\(expected)」をそのまま追加して" + Self.downloadJa,
                en: headEn + Self.consoleEn + "add \"\(expected)\" to \(ownEn) exactly as shown, " + Self.downloadEn
            )
        }
        let why: LocalizedText
        switch hint {
        case .trailingSlash:
            why = LocalizedText(
                ja: "登録されている「\(value)」は、末尾のスラッシュ（/）の有無が異なります。",
                en: "The entered \"\(value)\" differs by a trailing slash (/). ")
        case .schemeHTTP:
            why = LocalizedText(
                ja: "登録されている「\(value)」は「http://」で始まっています。「https://」で登録してください。",
                en: "The entered \"\(value)\" starts with http:// instead of https://. ")
        case .letterCase:
            why = LocalizedText(
                ja: "登録されている「\(value)」は、大文字と小文字が異なります。",
                en: "The entered \"\(value)\" differs in upper and lower case. ")
        case .surroundingSpaces:
            why = LocalizedText(
                ja: "登録されている「\(value)」の前後に空白が入っています。",
                en: "The entered \"\(value)\" has spaces before or after it. ")
        case .port:
            why = LocalizedText(
                ja: "登録されている「\(value)」にはポート番号が付いています。ポート番号は付けないでください。",
                en: "The entered \"\(value)\" has an explicit port number; leave the port out. ")
        case .callbackInOrigins, .originInRedirects:
            why = LocalizedText(
                ja: "「\(value)」が「\(otherJa)」の欄に入力されています。",
                en: "\"\(value)\" was entered under \(otherEn) instead. ")
        }
        if wrongPlace {
            return LocalizedText(
                ja: headJa + why.ja + Self.consoleJa
                    + "「\(otherJa)」から「\(value)」を削除し、「\(ownJa)」に「\(expected)」を追加して" + Self.downloadJa,
                en: headEn + why.en + Self.consoleEn
                    + "remove \"\(value)\" from \(otherEn), add \"\(expected)\" to \(ownEn), " + Self.downloadEn
            )
        }
        return LocalizedText(
            ja: headJa + why.ja + Self.consoleJa
                + "「\(ownJa)」の「\(value)」を「\(expected)」に修正して" + Self.downloadJa,
            en: headEn + why.en + Self.consoleEn
                + "change \"\(value)\" to \"\(expected)\" in \(ownEn), " + Self.downloadEn
        )
    }

    private func unexpectedMessage(_ list: URIList) -> LocalizedText {
        let value = self.value ?? ""
        return LocalizedText(
            ja: "「\(list.label.ja)」に、サポート窓口が発行していない「\(value)」が登録されています。連携には影響しませんが、不要であれば「APIとサービス > 認証情報」の OAuth クライアントから削除することをおすすめします。",
            en: "\(list.label.en) contain \"\(value)\", which the support desk did not issue. It does not break the integration, but if it is not needed we recommend removing it from the OAuth client in APIs & Services > Credentials."
        )
    }
}
