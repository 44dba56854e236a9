"""Kodeverk content the generator loads and draws from: code systems, codes and category mixes."""

from __future__ import annotations

from typing import Final

# Each code system as its OID, its name and a description.
CODE_SYSTEMS: Final[tuple[tuple[str, str, str], ...]] = (
    ("3101", "kjonn", "Kjønn (gender)"),
    ("3402", "kommune", "Kommunenummer (municipality)"),
    ("7426", "spesialitet", "Spesialitet for helsepersonell (speciality)"),
    ("7701", "rekvisisjonsrett", "Rekvisisjonsrett (requisition right)"),
    ("7702", "tilleggskompetanse", "Spesiell kompetanse / tilleggskompetanse (special competence)"),
    ("7704", "autorisasjon", "Autorisasjonstype (authorisation type)"),
    ("7750", "flr-relasjon", "Legens relasjon til fastlegeavtalen (GP relationship)"),
    ("8668", "resh-tjenestetype", "Tjenestetyper for spesialisthelsetjenesten (RESH service)"),
    ("9044", "elektronisk-adressetype", "Elektronisk adressetype (electronic address type)"),
    ("8116", "id-type", "ID-type for personer (person identifier type)"),
    ("9060", "helsepersonellkategori", "Helsepersonellkategori (health-personnel category)"),
)

GENDERS: Final = {"0": "Ikke kjent", "1": "Mann", "2": "Kvinne", "9": "Ikke spesifisert"}

HPR_CATEGORIES: Final = {
    "AA": "Ambulansearbeider", "AT": "Apotektekniker", "AU": "Audiograf", "BI": "Bioingeniør",
    "ET": "Ergoterapeut", "FA1": "Provisorfarmasøyt", "FA2": "Reseptarfarmasøyt",
    "FB": "Fiskehelsebiolog", "FO": "Fotterapeut", "FT": "Fysioterapeut", "HE": "Helsesekretær",
    "HF": "Helsefagarbeider", "HP": "Hjelpepleier", "JO": "Jordmor",
    "KE": "Klinisk ernæringsfysiolog", "KI": "Kiropraktor", "LE": "Lege", "OA": "Omsorgsarbeider",
    "OI": "Ortopediingeniør", "OP": "Optiker", "OR": "Ortoptist", "PE": "Perfusjonist",
    "PS": "Psykolog", "RA": "Radiograf", "SP": "Sykepleier", "TH": "Tannhelsesekretær",
    "TL": "Tannlege", "TP": "Tannpleier", "TT": "Tanntekniker", "VE": "Veterinær",
    "VP": "Vernepleier", "XX": "Ukjent/uspesifisert",
}  # fmt: skip

# Share of HPR's persons by category, after Helsedirektoratet's counts (nurses and
# health workers dominate; doctors about one in ten).
HPR_CATEGORY_MIX: Final = {
    "SP": 0.300, "HF": 0.215, "LE": 0.105, "VP": 0.050, "FT": 0.045, "HE": 0.040,
    "HP": 0.040, "PS": 0.030, "ET": 0.025, "BI": 0.020, "AA": 0.020, "TL": 0.015,
    "RA": 0.012, "JO": 0.010, "FA2": 0.008, "FA1": 0.006, "TH": 0.015, "TP": 0.005,
    "OP": 0.005, "KI": 0.003, "AU": 0.002, "VE": 0.008, "OI": 0.001, "KE": 0.002,
    "FO": 0.003, "AT": 0.008, "TT": 0.002, "OA": 0.002, "PE": 0.0005, "OR": 0.0005, "FB": 0.001,
}  # fmt: skip

AUTHORIZATIONS: Final = {"1": "Autorisasjon", "2": "Lisens"}

SPECIALITIES: Final = {
    "1": "Allmennmedisin", "2": "Anestesiologi", "3": "Arbeidsmedisin", "5": "Barnesykdommer",
    "7": "Fødselshjelp og kvinnesykdommer", "8": "Generell kirurgi", "11": "Hud- og veneriske sykdommer",
    "12": "Indremedisin", "14": "Nevrologi", "15": "Onkologi", "17": "Ortopedisk kirurgi",
    "19": "Psykiatri", "20": "Radiologi", "22": "Øyesykdommer", "24": "Barne- og ungdomspsykiatri",
    "30": "Kjeveortopedi",
}  # fmt: skip

REQUISITION_RIGHTS: Final = {"1": "Full rekvisisjonsrett", "2": "Begrenset rekvisisjonsrett"}

# Tilleggskompetanser (special competence, OID 7702). The values are synthetic: the list's
# published content was not available; the code system is the one HPR names.
ADDITIONAL_COMPETENCES: Final = {
    "1": "Alders- og sykehjemsmedisin", "2": "Akuttmedisin", "3": "Rusmedisin", "4": "Smertemedisin",
}  # fmt: skip

# Person-ID types (OID 8116), as HPR's AlternativeIder and AR's CitizenIdType use them.
ID_TYPES: Final = {
    "FNR": "Fødselsnummer", "DNR": "D-nummer", "HNR": "H-nummer", "FHN": "Felles hjelpenummer",
    "DUF": "DUF-nummer", "HPR": "HPR-nummer", "HER": "HER-id",
}  # fmt: skip

# Code groups HPR sends as a Kode whose OID its contract does not publish: the graph keeps each
# code with the text HPR sent (Kode.Verdi, Kode.Beskrivelse) rather than invent an OID for it.
# The values here are the generator's synthetic ones.
HPR_CLOSING_STATUSES: Final = {
    "1": "Utløpt", "2": "Tilbakekalt", "3": "Frivillig avkall", "4": "Død", "5": "Erstattet av autorisasjon",
}  # fmt: skip
HPR_CONDITIONS: Final = {"1": "Begrenset til stilling", "2": "Arbeid under veiledning"}
HPR_ADMINISTRATIVE_REACTIONS: Final = {
    "1": "Advarsel", "2": "Tilbakekall av autorisasjon", "3": "Begrensning av autorisasjon", "4": "Suspensjon",
}  # fmt: skip

GP_RELATIONSHIPS: Final = {"LPFL": "Fastlege", "LPVI": "Vikar", "LPDL": "Delelege"}

RESH_SERVICES: Final = {
    "1001": "Akuttmottak", "1002": "Medisinsk sengepost", "1003": "Kirurgisk sengepost",
    "1004": "Intensivbehandling", "1005": "Fødeavdeling", "1006": "Barneavdeling",
    "1007": "Poliklinikk", "1008": "Dagbehandling", "1009": "Radiologi", "1010": "Laboratorium",
    "1011": "Kreftbehandling", "1012": "Rehabilitering", "1013": "Psykisk helsevern for voksne",
    "1014": "Psykisk helsevern for barn og unge", "1015": "Tverrfaglig spesialisert rusbehandling",
    "1016": "Hjertemedisin", "1017": "Ortopedi", "1018": "Øyesykdommer", "1019": "Øre-nese-hals",
    "1020": "Geriatri",
}  # fmt: skip

ELECTRONIC_ADDRESS_TYPES: Final = {
    "E_EDI": "EDI-adresse", "E_TLF": "Telefon", "E_EPO": "E-post", "E_URL": "Nettadresse",
}  # fmt: skip

# A speciality fitting each hospital service, so a department's doctors match its work.
SERVICE_SPECIALITY: Final = {"1006": "5", "1011": "15", "1013": "19", "1017": "17", "1018": "22"}


def static_codes() -> dict[str, dict[str, str]]:
    """Return every code system's codes except kommune (which comes from reference data)."""
    return {
        "3101": GENDERS,
        "7426": SPECIALITIES,
        "7701": REQUISITION_RIGHTS,
        "7702": ADDITIONAL_COMPETENCES,
        "8116": ID_TYPES,
        "7704": AUTHORIZATIONS,
        "7750": GP_RELATIONSHIPS,
        "8668": RESH_SERVICES,
        "9044": ELECTRONIC_ADDRESS_TYPES,
        "9060": HPR_CATEGORIES,
    }
