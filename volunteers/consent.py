"""The consent a volunteer gives when registering, as versioned data.

Each volunteer records :data:`CONSENT_VERSION` and the time it was given; when the
wording changes, the version changes with it. Latvian first.
"""

from __future__ import annotations

CONSENT_VERSION = "2026-12-crews-v1"
# Years the pseudonymised record of call-outs and hours is kept after erasure.
KEPT_YEARS = 5

CONSENT_TEXTS: dict[str, dict[str, object]] = {
    "lv": {
        "title": "Piekrišana brīvprātīgā datu apstrādei",
        "paragraphs": (
            "Mērķis: civilā aizsardzība — iesaistīt jūs kā brīvprātīgo ārkārtas situācijās, "
            "mācībās un apmācībās (projekts CREWS). Pašvaldība to dara, pildot sabiedrības "
            "interesēs veicamu uzdevumu (Civilās aizsardzības un katastrofas pārvaldīšanas "
            "likums).",
            "Ko mēs glabājam: vārdu, uzvārdu, tālruni, e-pastu, dzimšanas datumu, pašvaldību un "
            "apkaimi, prasmes, sertifikātus, pieejamību, apmācības un izsaukumus, kuros "
            "piedalījāties, un laiku, kad devāt piekrišanu.",
            "Kas to redz: jūsu pašvaldības brīvprātīgo koordinatori; katra piekļuve tiek "
            "reģistrēta.",
            "Cik ilgi: kamēr esat brīvprātīgais. Ja atsaucat piekrišanu un dzēšat kontu, "
            "personas dati tiek dzēsti; pseidonimizēts ieraksts par izsaukumiem un "
            f"nostrādātajām stundām tiek glabāts {KEPT_YEARS} gadus pašvaldības pārskatiem un "
            "apdrošināšanai.",
            "Jūs varat jebkurā laikā apskatīt, labot un lejupielādēt savus datus sadaļā "
            "“Mans profils”.",
        ),
    },
    "en": {
        "title": "Consent to the processing of a volunteer's data",
        "paragraphs": (
            "Purpose: civil protection — involving you as a volunteer in emergencies, "
            "exercises and training (the CREWS project). The municipality does this as a task "
            "carried out in the public interest (Civil Protection and Disaster Management "
            "Law).",
            "What we store: your name, phone, e-mail, date of birth, municipality and "
            "neighbourhood, skills, certificates, availability, the trainings and call-outs "
            "you took part in, and the time you gave your consent.",
            "Who sees it: the volunteer coordinators of your municipality; every access is "
            "logged.",
            "How long: while you are a volunteer. If you withdraw consent and erase your "
            "account, your personal data is deleted; a pseudonymised record of call-outs and "
            f"hours worked is kept for {KEPT_YEARS} years for the municipality's reports and "
            "insurance.",
            "You can see, correct and download your data at any time under “My profile”.",
        ),
    },
}


def consent_text(language: str) -> dict[str, object]:
    return CONSENT_TEXTS.get(language, CONSENT_TEXTS["lv"])
