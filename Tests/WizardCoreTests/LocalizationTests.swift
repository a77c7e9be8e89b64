import Foundation
import Testing
@testable import WizardCore

@Suite struct LocalizationTests {
    // MARK: completeness

    /// Every key has a text in every language, and no language defines a key the others lack.
    @Test func everyKeyInEveryLanguage() {
        for key in StringKey.allCases {
            for lang in Language.allCases {
                let text = L10n.table(lang)[key]
                #expect(text != nil, "\(key.rawValue) is missing in \(lang.rawValue)")
                #expect(!(text ?? "").trimmingCharacters(in: .whitespaces).isEmpty, "\(key.rawValue) is empty in \(lang.rawValue)")
            }
        }
        let all = Set(StringKey.allCases)
        for lang in Language.allCases {
            let extra = L10n.keys(lang).subtracting(all)
            #expect(extra.isEmpty, "\(lang.rawValue) defines unknown keys \(extra)")
            for other in Language.allCases where other != lang {
                let onlyHere = L10n.keys(lang).subtracting(L10n.keys(other)).map(\.rawValue).sorted()
                #expect(onlyHere.isEmpty, "keys in \(lang.rawValue) but not in \(other.rawValue): \(onlyHere)")
            }
        }
    }

    /// A translation takes the same arguments as the English text (same positions, each once).
    @Test func placeholdersAgree() {
        for key in StringKey.allCases {
            let want = L10n.placeholders(L10n.string(key, .en)).sorted()
            for lang in Language.allCases {
                let have = L10n.placeholders(L10n.string(key, lang)).sorted()
                #expect(have == want, "\(key.rawValue) in \(lang.rawValue) has placeholders \(have), English \(want)")
            }
        }
    }

    /// Chinese texts are really translated (not English left behind), apart from names and commands.
    @Test func chineseIsChinese() {
        let sameOnPurpose: Set<StringKey> = []
        for key in StringKey.allCases where !sameOnPurpose.contains(key) {
            let zh = L10n.string(key, .zh)
            let han = zh.unicodeScalars.contains { (0x4E00 ... 0x9FFF).contains($0.value) }
            #expect(han, "\(key.rawValue) in zh has no Chinese text: \(zh)")
        }
    }

    @Test func everyStatusHasAName() {
        for s in StepStatus.allCases {
            #expect(L10n.status(s, .en) == s.rawValue)
            #expect(L10n.status(s, .zh) != s.rawValue)
        }
    }

    // MARK: formatting

    @Test func fillsPlaceholders() {
        #expect(L10n.fill("a %@ b %@", ["1", "2"]) == "a 1 b 2")
        #expect(L10n.fill("%2$@ then %1$@", ["x", "y"]) == "y then x")
        #expect(L10n.fill("100%% of %@", ["it"]) == "100% of it")
        #expect(L10n.fill("missing %@", []) == "missing %@")
        #expect(L10n.fill("50% off", []) == "50% off")
        let banner = L10n.format(.resumeBanner, .en, "prod", "nginx", "nginx -t", "5 min")
        #expect(banner == "Resume prod: stopped at nginx / nginx -t (interrupted 5 min ago)")
        let zh = Strings(.zh)(.resumeBanner, "prod", "nginx", "nginx -t", "5 分钟")
        #expect(zh.contains("prod") && zh.contains("nginx -t") && zh.contains("5 分钟"))
        #expect(Strings(.zh)(.runSummaryCount, "3", L10n.status(.succeeded, .zh)) == "已完成 3 步")
        #expect(Strings(.en)(.runSummaryCount, "3", "succeeded") == "3 succeeded")
        #expect(Strings(.en)[.tabLesson] == "Lesson")
        #expect(Strings(.zh)[.errorTerminalTooSmall].contains("80×24"))
    }

    // MARK: language detection

    @Test func langVariable() {
        #expect(Language.detect(environment: ["LANG": "zh_CN.UTF-8"]) == .zh)
        #expect(Language.detect(environment: ["LANG": "zh_TW.UTF-8"]) == .zh)
        #expect(Language.detect(environment: ["LANG": "zh"]) == .zh)
        #expect(Language.detect(environment: ["LANG": "en_US.UTF-8"]) == .en)
        #expect(Language.detect(environment: ["LANG": "de_DE.UTF-8"]) == .en)
        #expect(Language.detect(environment: ["LANG": "C.UTF-8"]) == .en)
        #expect(Language.detect(environment: ["LANG": "zu_ZA.UTF-8"]) == .en)
        #expect(Language.detect(environment: [:]) == .en)
        #expect(Language.detect(environment: ["LANG": ""]) == .en)
    }

    @Test func precedence() {
        // LC_ALL wins over everything, LC_MESSAGES over LANG
        #expect(Language.detect(environment: ["LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"]) == .zh)
        #expect(Language.detect(environment: ["LC_ALL": "C", "LANG": "zh_CN.UTF-8"]) == .en)
        #expect(Language.detect(environment: ["LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "zh_CN.UTF-8"]) == .en)
        #expect(Language.detect(environment: ["LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"]) == .zh)
        #expect(Language.detect(environment: ["LC_MESSAGES": "POSIX", "LANG": "zh_CN.UTF-8"]) == .en)
        // empty means unset
        #expect(Language.detect(environment: ["LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"]) == .zh)
        // other categories do not decide the message language
        #expect(Language.detect(environment: ["LC_CTYPE": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"]) == .en)
    }

    @Test func langFlag() {
        #expect(Language(flag: "en") == .en)
        #expect(Language(flag: "zh") == .zh)
        #expect(Language(flag: "ZH") == .zh)
        #expect(Language(flag: "zh_CN") == .zh)
        #expect(Language(flag: "zh-Hans") == .zh)
        #expect(Language(flag: "en_US.UTF-8") == .en)
        #expect(Language(flag: "fr") == nil)
        #expect(Language(flag: "") == nil)
        #expect(Language(flag: "english") == nil)
        #expect(Language(flag: "zhx") == nil)
        // --lang overrides the environment both ways
        #expect(Language.detect(flag: Language(flag: "en"), environment: ["LC_ALL": "zh_CN.UTF-8"]) == .en)
        #expect(Language.detect(flag: Language(flag: "zh"), environment: ["LANG": "en_US.UTF-8"]) == .zh)
        #expect(Language.detect(flag: nil, environment: ["LANG": "zh_CN.UTF-8"]) == .zh)
    }
}
