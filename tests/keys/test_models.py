from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from playground.accounts.models import User
from playground.keys import crypto
from playground.keys.models import Credential, dialect_choices
from playground.providers.catalog import get_provider
from tests.keys.factories import SECRET, make_credential


def _raw_row(credential: Credential) -> tuple[str, str]:
    table = connection.ops.quote_name(Credential._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key_ciphertext, key_last4 FROM {table} WHERE id = %s", [credential.pk]
        )
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def test_it_stores_only_ciphertext_in_the_database(alice: User) -> None:
    credential = make_credential(alice)
    ciphertext, last4 = _raw_row(credential)
    assert SECRET not in ciphertext
    assert "THISISASECRETKEY" not in ciphertext
    assert crypto.decrypt(ciphertext) == SECRET
    assert last4 == "7890"


def test_it_reveals_the_key_only_through_reveal_key(alice: User) -> None:
    credential = Credential.objects.get(pk=make_credential(alice).pk)
    assert credential.reveal_key() == SECRET
    assert credential.masked_key == "…7890"
    assert all(SECRET not in str(value) for value in vars(credential).values())


def test_it_keeps_the_key_out_of_repr_and_str(alice: User) -> None:
    credential = make_credential(alice, label="Work")
    for text in (repr(credential), str(credential)):
        assert SECRET not in text
        assert "…7890" in text
    assert "Work" in str(credential)
    assert "DeepSeek" in str(credential)


def test_it_replaces_the_key(alice: User) -> None:
    credential = make_credential(alice)
    credential.set_key("sk-another-key-abcd")
    credential.save()
    credential.refresh_from_db()
    assert credential.reveal_key() == "sk-another-key-abcd"
    assert credential.key_last4 == "abcd"


def test_it_falls_back_to_the_providers_default_base_url_and_dialect(alice: User) -> None:
    default = make_credential(alice, provider="dashscope")
    assert default.effective_base_url == get_provider("dashscope").default_base_url
    assert default.effective_dialect == get_provider("dashscope").dialect
    custom = make_credential(
        alice, provider="openai_compatible", base_url="https://llm.example.com/v1", dialect="vllm"
    )
    assert custom.effective_base_url == "https://llm.example.com/v1"
    assert custom.effective_dialect == "vllm"
    assert custom.dialect_label.startswith("vLLM")


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8000/sim/deepseek", True),
        ("https://playground.example.com/sim/dashscope/compatible-mode/v1", True),
        ("https://api.example.com/v1/sim/", False),
        ("", False),
    ],
)
def test_it_knows_when_it_points_at_the_simulator(
    alice: User, base_url: str, expected: bool
) -> None:
    assert make_credential(alice, base_url=base_url).is_simulator is expected


def test_it_lists_only_the_users_own_credentials(alice: User, bob: User) -> None:
    own = make_credential(alice)
    make_credential(bob)
    assert list(Credential.objects.for_user(alice)) == [own]


def test_it_refuses_a_provider_outside_the_catalog(alice: User) -> None:
    credential = make_credential(alice, provider="nonesuch")
    with pytest.raises(ValidationError) as info:
        credential.full_clean()
    assert "provider" in info.value.message_dict


def test_it_offers_dialects_only_for_the_generic_endpoint() -> None:
    generic = [choice for choice, _label in dialect_choices("openai_compatible")]
    assert {"plain", "deepseek", "dashscope", "moonshot", "mistral", "vllm", "sglang"} <= set(
        generic
    )
    assert dialect_choices("deepseek") == []
    assert dialect_choices("nonesuch") == []
