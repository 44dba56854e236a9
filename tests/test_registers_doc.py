"""docs/registers.md accounts for every field of each register's types in the SDL and in its WSDL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLObjectType
from lxml import etree

from helsegraf.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "src" / "helsegraf" / "upstream" / "contracts"
XS = "{http://www.w3.org/2001/XMLSchema}"

SDL_TYPES = {
    "HPR": "HealthPersonnel Approval Suspension AdministrativeReaction AlternativeId Condition DatedCode "
    "AuthorizationCheck",
    "AR": "CommunicationParty Certificate CoverageArea ElectronicAddress FutureElectronicAddress PhysicalAddress "
    "ServiceCode",
    "RESH": "ReshUnit ReshService ReshParentLink",
    "FLR": "GpContract GpPeriod GpAssignment GpAtTime OutOfOfficeLocation FlrCode",
    "Kodeverk": "Code CodeVersion RegisterCode",
    "PREG": "DatedAddress ParentalResponsibility Guardianship PersonWithoutIdentifier IdentificationNumber "
    "LegalCapacityRestriction",
}
HPR_WSDL = (
    "Person Godkjenning Spesialitet Rekvisisjonsrett Tilleggskompetanse Vilkår AdministrativReaksjon "
    "AlternativId Suspensjonsperiode Kode Periode"
)
AR_WSDL = (
    "CommunicationParty Organization Service OrganizationPerson Person PhysicalAddress ElectronicAddress "
    "FutureElectronicAddress CoverageInfo CertificateDetails CertificateCandidate HPRInformation Code Period"
)
FLR_WSDL = (
    "GPContract GPOnContractAssociation PatientToGPContractAssociation OutOfOfficeLocation GPOffice GPDetails "
    "Person NinWithTimestamp Code Period PhysicalAddress"
)
WSDL_TYPES = {
    "HPR": ("hpr", HPR_WSDL),
    "AR": ("ar", AR_WSDL),
    "RESH": ("resh", "ReshUnit Service ParentLink Code Period TimePeriod"),
    "FLR": ("flr", FLR_WSDL),
}


def _sections() -> dict[str, str]:
    text = (ROOT / "docs" / "registers.md").read_text(encoding="utf-8")
    return {part.split()[0]: part for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]}


def _column(section: str, index: int) -> set[str]:
    words: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > index + 1:
            words |= set(re.findall(r"\w+", cells[index + 1]))
    return words


@pytest.mark.parametrize("register", sorted(SDL_TYPES))
def test_every_sdl_field_of_the_registers_types_is_in_its_table(register: str) -> None:
    schema = build_schema()._schema  # noqa: SLF001 - graphql-core's schema behind Strawberry's
    graph = _column(_sections()[register], 1) | _column(_sections()[register], 2)

    missing = {
        name: sorted(set(kind.fields) - graph)
        for name in SDL_TYPES[register].split()
        if isinstance(kind := schema.type_map[name], GraphQLObjectType) and set(kind.fields) - graph
    }

    assert missing == {}


# The parts of Persontjenesten's person document the PREG section must account for, property by property.
PREG_SCHEMAS = (
    "Person PresentAddress ResidentialAddress SharedResidence ContactAddress ForeignContactAddress "
    "InternationalAddress FreeFormInternationalAddress ParentalResponsibility RelatedBiPerson "
    "GuardianshipOrFuturePowerOfAttorney GuardianOrProxy IdentifyingInformation "
    "NorwegianIdentificationNumber FamilyRelation MaritalStatus Citizenship AddressProtection PersonName "
    "PersonStatus PersonGender Birth Death Name UnknownResidence DeprivedLegalAuthority LegalAuthority"
)


def test_every_property_of_the_person_document_is_accounted_for() -> None:
    import yaml  # noqa: PLC0415

    document = yaml.safe_load((CONTRACTS / "persontjenesten-openapi.yaml").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    told = set(re.findall(r"\w+", _sections()["PREG"]))

    missing = {name: sorted(set(schemas[name]["properties"]) - told) for name in PREG_SCHEMAS.split()}

    assert {name: found for name, found in missing.items() if found} == {}


@pytest.mark.parametrize("register", sorted(WSDL_TYPES))
def test_every_contract_field_of_the_registers_types_is_accounted_for(register: str) -> None:
    contract, names = WSDL_TYPES[register]
    tree = etree.parse(str(CONTRACTS / f"{contract}.wsdl"))
    fields: dict[str, set[str]] = {}
    for kind in tree.iter(f"{XS}complexType"):
        if kind.get("name") in names.split():
            fields.setdefault(kind.get("name"), set()).update(
                e.get("name") for e in kind.iter(f"{XS}element") if e.get("name")
            )
    told = set(re.findall(r"\w+", _sections()[register]))

    assert set(fields) == set(names.split())
    assert {name: sorted(found - told) for name, found in fields.items() if found - told} == {}
