from e5ops.evidence.redact import NO_LOG, REDACTED, Redactor


def test_a_no_log_result_keeps_nothing():
    result = {"censored": "hidden", "stdout": "s3cret-value"}
    assert Redactor().result(result) == {"censored": NO_LOG}
    assert Redactor().result({"_ansible_no_log": True, "msg": "s3cret"}) == {"censored": NO_LOG}


def test_keys_matching_the_pattern_are_redacted_at_any_depth():
    data = {
        "db": {"password": "hunter22", "user": "app"},
        "API_Token": "abc",
        "items": [{"private_key": "-----BEGIN"}],
        "tls_grade": "A",
    }
    cleaned = Redactor().value(data)
    assert cleaned == {
        "db": {"password": REDACTED, "user": "app"},
        "API_Token": REDACTED,
        "items": [{"private_key": REDACTED}],
        "tls_grade": "A",
    }


def test_a_custom_pattern_replaces_the_default():
    redactor = Redactor(key_pattern="^pin$")
    assert redactor.value({"pin": "1234", "password": "x"}) == {"pin": REDACTED, "password": "x"}


def test_known_secret_values_are_redacted_inside_any_string():
    redactor = Redactor()
    redactor.add_secret("VAULT-VALUE-1")
    redactor.add_secret("ab")  # too short to search for: left to the key pattern
    assert redactor.value({"msg": "login with VAULT-VALUE-1 now", "n": "ab"}) == {
        "msg": f"login with {REDACTED} now",
        "n": "ab",
    }


def test_ansible_internal_keys_are_dropped():
    assert Redactor().value({"_ansible_verbose_always": True, "changed": False}) == {
        "changed": False
    }


def test_is_secret_key_follows_the_pattern():
    redactor = Redactor()
    assert redactor.is_secret_key("monitoring_agent_basic_auth_password")
    assert not redactor.is_secret_key("monitoring_scrape_interval")


def test_words_that_merely_contain_pass_are_kept():
    redactor = Redactor()
    canary = "canary-" + "value"  # made at run time: not a password in the source
    data = {"passed": True, "bypass_cache": "yes", "compass": 3, "db_pass": canary}
    cleaned = redactor.value(data)
    assert cleaned["passed"] is True
    assert cleaned["bypass_cache"] == "yes"
    assert cleaned["compass"] == 3
    assert cleaned["db_pass"] != canary
