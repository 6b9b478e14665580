"""Contract: for every dialect, the built request equals the provider's documented example.

Each EXAMPLE string below is the provider's documented example, verbatim (docs/providers.md
links each provider's page; the section is named in the test); the CompletionRequest is what a
user would enter to get it.
"""

from __future__ import annotations

import json

from playground.providers import CompletionRequest, Target, Turn, prepare
from tests.providers.helpers import KEY

BEARER = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def test_it_builds_deepseeks_prefix_request_exactly_as_documented() -> None:
    # docs/providers.md, DeepSeek
    example = """{
  "model": "deepseek-chat",
  "messages": [
    {"role": "user", "content": "Please write quick sort code"},
    {"role": "assistant", "content": "```python\\n", "prefix": true}
  ],
  "stop": ["```"],
  "max_tokens": 1024,
  "stream": true,
  "stream_options": {"include_usage": true}
}"""
    call = prepare(
        Target("deepseek", "https://api.deepseek.com", KEY),
        CompletionRequest(
            model="deepseek-chat",
            prefix="```python\n",
            turns=(Turn("user", "Please write quick sort code"),),
            stop=("```",),
            max_tokens=1024,
        ),
    )
    assert call.method == "POST"
    assert call.url == "https://api.deepseek.com/beta/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_deepseeks_reasoning_prefix_exactly_as_documented() -> None:
    # docs/providers.md, DeepSeek, reasoning prefix (thinking mode, CoT prefix)
    example = """{
  "model": "deepseek-reasoner",
  "messages": [
    {"role": "user", "content": "9.11 and 9.8, which is greater?"},
    {"role": "assistant", "content": "", "reasoning_content": "Compare the tenths digit first:", "prefix": true}
  ]
}"""  # noqa: E501 (verbatim from the documented example)
    call = prepare(
        Target("deepseek", "https://api.deepseek.com", KEY),
        CompletionRequest(
            model="deepseek-reasoner",
            prefix="",
            turns=(Turn("user", "9.11 and 9.8, which is greater?"),),
            reasoning_prefix="Compare the tenths digit first:",
            stream=False,
        ),
    )
    assert call.url == "https://api.deepseek.com/beta/chat/completions"
    assert call.body == json.loads(example)


def test_it_builds_deepseeks_fim_request_as_documented() -> None:
    # docs/providers.md, DeepSeek, fill in the middle. The example spells out two API defaults,
    # "stop": null and "stream": false; the builder leaves unset values out instead of nulls.
    example = """{
  "model": "deepseek-chat",
  "prompt": "def fib(a):",
  "suffix": "    return fib(a-1) + fib(a-2)",
  "max_tokens": 128,
  "stop": null,
  "echo": false,
  "stream": false
}"""
    call = prepare(
        Target("deepseek", "https://api.deepseek.com", KEY),
        CompletionRequest(
            model="deepseek-chat",
            prefix="def fib(a):",
            suffix="    return fib(a-1) + fib(a-2)",
            max_tokens=128,
            stream=False,
        ),
    )
    expected = json.loads(example)
    del expected["stop"], expected["stream"]
    assert call.url == "https://api.deepseek.com/beta/completions"
    assert call.headers == BEARER
    assert call.body == expected


def test_it_builds_dashscopes_partial_request_exactly_as_documented() -> None:
    # docs/providers.md, DashScope
    example = """{
  "model": "qwen3-coder-plus",
  "messages": [
    {"role": "user", "content": "请补全这个斐波那契函数，勿添加其它内容"},
    {"role": "assistant",
     "content": "def calculate_fibonacci(n):\\n    if n <= 1:\\n        return n\\n    else:\\n",
     "partial": true}
  ],
  "stream": true,
  "stream_options": {"include_usage": true}
}"""  # noqa: E501 (verbatim from the documented example)
    call = prepare(
        Target("dashscope", "https://dashscope.aliyuncs.com/compatible-mode/v1", KEY),
        CompletionRequest(
            model="qwen3-coder-plus",
            prefix="def calculate_fibonacci(n):\n    if n <= 1:\n        return n\n    else:\n",
            turns=(Turn("user", "请补全这个斐波那契函数，勿添加其它内容"),),
        ),
    )
    assert call.url == "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_dashscopes_multimodal_prefix_exactly_as_documented() -> None:
    # docs/providers.md, DashScope, multimodal prefix
    example = """{
  "model": "qwen3-vl-plus",
  "messages": [
    {"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "https://img.alicdn.com/imgextra/i3/O1CN01zFX2Bs1Q0f9pESgPC_!!6000000001914-2-tps-450-450.png"}},
      {"type": "text", "text": "我要发社交媒体，请帮我想一下文案。"}
    ]},
    {"role": "assistant", "content": "今天发现了一家宝藏咖啡馆", "partial": true}
  ]
}"""  # noqa: E501 (verbatim from the documented example)
    image = "https://img.alicdn.com/imgextra/i3/O1CN01zFX2Bs1Q0f9pESgPC_!!6000000001914-2-tps-450-450.png"
    call = prepare(
        Target("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", KEY),
        CompletionRequest(
            model="qwen3-vl-plus",
            prefix="今天发现了一家宝藏咖啡馆",
            turns=(Turn("user", "我要发社交媒体，请帮我想一下文案。", images=(image,)),),
            stream=False,
        ),
    )
    assert call.url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
    assert call.body == json.loads(example)


def test_it_builds_coreshubs_plain_prefix_exactly_as_documented() -> None:
    # docs/providers.md, CoresHub
    example = """{"model":"DeepSeek-V3",
 "messages":[
   {"role":"user","content":"请对“叮铃铃,下课铃响了”这句话进行续写,用一句话来描述校园里突然生机和活力的场景"},
   {"role":"assistant","content":"叮铃铃,下课铃响了"}]}"""
    call = prepare(
        Target("coreshub", "https://openapi.coreshub.cn/v1", KEY),
        CompletionRequest(
            model="DeepSeek-V3",
            prefix="叮铃铃,下课铃响了",
            turns=(
                Turn(
                    "user",
                    "请对“叮铃铃,下课铃响了”这句话进行续写,用一句话来描述校园里突然生机和活力的场景",
                ),
            ),
            stream=False,
        ),
    )
    assert call.url == "https://openapi.coreshub.cn/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_moonshots_partial_request_exactly_as_documented() -> None:
    # docs/providers.md, Moonshot
    example = """{
  "model": "kimi-k2.5",
  "messages": [
    {"role": "system", "content": "Extract the name, size, price, and color from the product description and output them in a JSON object."},
    {"role": "user", "content": "The DaMi SmartHome Mini is … black and silver … 998 yuan … 256 x 128 x 128mm."},
    {"role": "assistant", "content": "{", "partial": true}
  ]
}"""  # noqa: E501 (verbatim from the documented example)
    call = prepare(
        Target("moonshot", "https://api.moonshot.ai/v1", KEY),
        CompletionRequest(
            model="kimi-k2.5",
            prefix="{",
            system=(
                "Extract the name, size, price, and color from the product description "
                "and output them in a JSON object."
            ),
            turns=(
                Turn(
                    "user",
                    "The DaMi SmartHome Mini is … black and silver … 998 yuan … 256 x 128 x 128mm.",
                ),
            ),
            stream=False,
        ),
    )
    assert call.url == "https://api.moonshot.ai/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_moonshots_role_play_message_exactly_as_documented() -> None:
    # docs/providers.md, Moonshot, role-play variant
    example = """{"role": "assistant", "name": "Kelsier", "content": "", "partial": true}"""
    call = prepare(
        Target("moonshot", "https://api.moonshot.cn/v1", KEY),
        CompletionRequest(
            model="kimi-k2.5",
            prefix="",
            turns=(Turn("user", "Stay in character."),),
            speaker_name="Kelsier",
            stream=False,
        ),
    )
    assert call.url == "https://api.moonshot.cn/v1/chat/completions"
    messages = call.body["messages"]
    assert isinstance(messages, list)
    assert messages[-1] == json.loads(example)


def test_it_builds_mistrals_prefix_request_exactly_as_documented() -> None:
    # docs/providers.md, Mistral
    example = """{
  "model": "mistral-small-latest",
  "messages": [
    {"role": "system", "content": "Let's roleplay. Always give a single reply. Roleplay only, using dialogue only."},
    {"role": "user", "content": "Hi there!"},
    {"role": "assistant", "content": "Shakespeare: ", "prefix": true}
  ],
  "max_tokens": 128,
  "stream": true
}"""  # noqa: E501 (verbatim from the documented example)
    call = prepare(
        Target("mistral", "https://api.mistral.ai/v1", KEY),
        CompletionRequest(
            model="mistral-small-latest",
            prefix="Shakespeare: ",
            system=(
                "Let's roleplay. Always give a single reply. Roleplay only, using dialogue only."
            ),
            turns=(Turn("user", "Hi there!"),),
            max_tokens=128,
        ),
    )
    assert call.url == "https://api.mistral.ai/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_anthropics_prefill_request_exactly_as_documented() -> None:
    # docs/providers.md, Anthropic (max_tokens comes from the catalog's default, 1024)
    example = """{
  "model": "claude-haiku-4-5",
  "max_tokens": 1024,
  "system": "Extract product fields as JSON.",
  "messages": [
    {"role": "user", "content": "The DaMi SmartHome Mini … costs 998 yuan …"},
    {"role": "assistant", "content": "{"}
  ],
  "stop_sequences": ["\\n\\n"],
  "stream": true
}"""
    call = prepare(
        Target("anthropic", "https://api.anthropic.com", KEY),
        CompletionRequest(
            model="claude-haiku-4-5",
            prefix="{",
            system="Extract product fields as JSON.",
            turns=(Turn("user", "The DaMi SmartHome Mini … costs 998 yuan …"),),
            stop=("\n\n",),
        ),
    )
    assert call.method == "POST"
    assert call.url == "https://api.anthropic.com/v1/messages"
    assert call.headers == {
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    assert call.body == json.loads(example)


def test_it_builds_openrouters_prefill_request_exactly_as_documented() -> None:
    # docs/providers.md, OpenRouter
    example = """{
  "model": "anthropic/claude-haiku-4.5",
  "messages": [
    {"role": "user", "content": "What is the meaning of life?"},
    {"role": "assistant", "content": "I'm not sure, but my best guess is"}
  ],
  "stream": true
}"""
    call = prepare(
        Target("openrouter", "https://openrouter.ai/api/v1", KEY),
        CompletionRequest(
            model="anthropic/claude-haiku-4.5",
            prefix="I'm not sure, but my best guess is",
            turns=(Turn("user", "What is the meaning of life?"),),
        ),
    )
    assert call.url == "https://openrouter.ai/api/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_vllms_continue_final_message_request_exactly_as_documented() -> None:
    # docs/providers.md, vLLM
    example = """{
  "model": "meta-llama/Llama-3.2-3B-Instruct",
  "messages": [
    {"role": "user", "content": "tell me a common saying"},
    {"role": "assistant", "content": "Here is a common saying about apple. An apple a day, keeps"}
  ],
  "continue_final_message": true,
  "add_generation_prompt": false,
  "echo": false
}"""  # noqa: E501 (verbatim from the documented example)
    call = prepare(
        Target("vllm", "http://localhost:8000/v1", KEY),
        CompletionRequest(
            model="meta-llama/Llama-3.2-3B-Instruct",
            prefix="Here is a common saying about apple. An apple a day, keeps",
            turns=(Turn("user", "tell me a common saying"),),
            stream=False,
        ),
    )
    assert call.url == "http://localhost:8000/v1/chat/completions"
    assert call.headers == BEARER
    assert call.body == json.loads(example)


def test_it_builds_sglangs_request_with_the_flag_and_a_plain_trailing_message() -> None:
    # docs/providers.md, SGLang: trailing assistant + "continue_final_message": true
    call = prepare(
        Target("sglang", "http://localhost:30000/v1", KEY),
        CompletionRequest(
            model="meta-llama/Llama-3.1-8B-Instruct",
            prefix="An apple a day, keeps",
            turns=(Turn("user", "tell me a common saying"),),
        ),
    )
    assert call.url == "http://localhost:30000/v1/chat/completions"
    assert call.body == {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "messages": [
            {"role": "user", "content": "tell me a common saying"},
            {"role": "assistant", "content": "An apple a day, keeps"},
        ],
        "continue_final_message": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_it_builds_llamacpps_request_with_a_plain_trailing_message_and_thinking_off() -> None:
    # docs/providers.md, llama.cpp: prefill is automatic; thinking is off via chat_template_kwargs
    call = prepare(
        Target("llamacpp", "http://localhost:8080/v1", KEY),
        CompletionRequest(
            model="qwen3", prefix="Thanks for asking! I am", turns=(Turn("user", "Who are you?"),)
        ),
    )
    assert call.url == "http://localhost:8080/v1/chat/completions"
    assert call.body == {
        "model": "qwen3",
        "messages": [
            {"role": "user", "content": "Who are you?"},
            {"role": "assistant", "content": "Thanks for asking! I am"},
        ],
        "chat_template_kwargs": {"enable_thinking": False},
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_it_builds_ollamas_native_chat_request() -> None:
    # docs/providers.md, Ollama: native /api/chat continues a trailing assistant message (#5890)
    call = prepare(
        Target("ollama", "http://localhost:11434", ""),
        CompletionRequest(
            model="llama3.2",
            prefix="Thanks for asking! I am ",
            turns=(Turn("user", "How are you?"),),
            max_tokens=64,
            stop=("\n",),
            temperature=0.2,
        ),
    )
    assert call.url == "http://localhost:11434/api/chat"
    assert call.headers == {"Content-Type": "application/json"}
    assert call.body == {
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "How are you?"},
            {"role": "assistant", "content": "Thanks for asking! I am "},
        ],
        "stream": True,
        "options": {"temperature": 0.2, "num_predict": 64, "stop": ["\n"]},
    }
