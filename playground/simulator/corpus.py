"""Canned text the simulator continues with: prose, Chinese prose, dialogue, reasoning and code.

Everything here is plain data. `generate.py` picks from it with a seeded random generator, so
the same request always gets the same text.
"""

from __future__ import annotations

# Endings for a sentence the prefix left open ("my best guess is" → " that …").
CLAUSES = (
    "that the simplest explanation usually holds up best.",
    "and the rest of the evening passed quietly.",
    "which is exactly why the small details matter here.",
    "because nobody had thought to check the obvious first.",
    "as the light faded slowly over the hills.",
    "so the plan had to change before anyone noticed.",
    "while the kettle hummed softly in the kitchen.",
    "until the answer finally became clear to everyone.",
)

SENTENCES = (
    "The first step is to look closely at what is already there.",
    "Nothing about it was complicated, but it took patience.",
    "She wrote the idea down before it could slip away.",
    "A careful test tells you more than a confident guess.",
    "By the next morning the whole street knew the story.",
    "Small changes, made one at a time, are easier to trust.",
    "He paused at the door, listening to the rain on the roof.",
    "The numbers told a simpler story than the meeting had.",
    "It is worth writing down why a decision was made, not only what it was.",
    "Somewhere below, a train rattled past and the windows shook.",
    "Good examples make the rule obvious without another word.",
    "They agreed to try again after lunch, with fresh eyes.",
    "The old map was wrong in exactly one important place.",
    "Every answer raised a better question than the last.",
    "In the end, the quiet approach turned out to be the fastest.",
    "The garden looked different in the early light.",
)

CJK_CLAUSES = (
    "，原本安静的校园瞬间沸腾起来。",
    "，大家不约而同地抬起了头。",
    "，空气里弥漫着淡淡的桂花香。",
    "，窗外的风忽然变得温柔了许多。",
    "，一切似乎都在悄悄地改变。",
)

CJK_SENTENCES = (
    "同学们笑着冲出教室，走廊里顿时热闹非凡。",
    "操场上传来一阵阵欢快的呼喊声。",
    "阳光透过树叶洒在地上，留下斑驳的光影。",
    "有人在讨论刚才的题目，有人已经跑向了篮球场。",
    "老师站在门口，看着这一切，脸上露出了微笑。",
    "小鸟在枝头叽叽喳喳，仿佛也在庆祝这短暂的自由。",
    "时间好像慢了下来，每个人都格外轻松。",
    "远处的钟声再次响起，提醒大家新的一天还在继续。",
    "这样简单的时刻，往往最让人难忘。",
    "大家约好放学后一起去河边散步。",
)

DIALOGUE = (
    "Good morrow, friend! What news dost thou bring from the market today?",
    "I never said it would be easy. I only said it would be worth it.",
    "Keep your voice down. The walls in this place have very good ears.",
    "If we leave now, we can still make it before the bridge closes.",
    "You came back. I was beginning to think you had forgotten us.",
    "Tell me everything, and start with the part you would rather skip.",
)

CJK_DIALOGUE = (
    "别担心，我们还有时间。先把眼前的事情做好。",
    "你终于来了，我等你很久了。",
    "这件事没有你想的那么简单，但我们一定能解决。",
    "跟紧我，前面的路不好走。",
)

REASONING = (
    "First I should make sure I understand what is being asked.",
    "The key point is how the pieces fit together.",
    "Let me check the edge cases before settling on an answer.",
    "That seems consistent with what was said earlier.",
    "So the answer should follow directly from that.",
    "I will keep the reply short and to the point.",
)

FRESH_OPENER = "Sure! Here is a fresh answer to your message."
CJK_FRESH_OPENER = "好的！以下是对你的问题的全新回答。"

AFTER_CODE = (
    "This keeps the logic simple and easy to test.",
    "You can adapt the names to fit your project.",
    "Run it once with a small input to check the result.",
)

# Keys for a JSON object when the prompt names none, and plausible values for common keys.
DEFAULT_JSON_KEYS = ("title", "summary", "tags", "confidence")
JSON_VALUES: dict[str, object] = {
    "name": "SmartHome Mini",
    "title": "A short example",
    "summary": "A compact, self-contained example object.",
    "description": "A compact, self-contained example object.",
    "size": "256 x 128 x 128 mm",
    "price": 998,
    "color": "black and silver",
    "colour": "black and silver",
    "tags": ["example", "simulated"],
    "confidence": 0.87,
    "age": 34,
    "city": "Lisbon",
    "email": "someone@example.com",
    "id": 42,
    "score": 7.5,
    "answer": "42",
}

CODE: dict[str, tuple[str, ...]] = {
    "python": (
        "def quick_sort(arr):\n"
        "    if len(arr) <= 1:\n"
        "        return arr\n"
        "    pivot = arr[len(arr) // 2]\n"
        "    left = [x for x in arr if x < pivot]\n"
        "    middle = [x for x in arr if x == pivot]\n"
        "    right = [x for x in arr if x > pivot]\n"
        "    return quick_sort(left) + middle + quick_sort(right)\n",
        "def fibonacci(n):\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a\n",
        "def word_count(text):\n"
        "    counts = {}\n"
        "    for word in text.split():\n"
        "        counts[word] = counts.get(word, 0) + 1\n"
        "    return counts\n",
    ),
    "sql": (
        "SELECT customer_id, COUNT(*) AS orders, SUM(total) AS revenue\n"
        "FROM orders\n"
        "WHERE created_at >= DATE '2024-01-01'\n"
        "GROUP BY customer_id\n"
        "ORDER BY revenue DESC\n"
        "LIMIT 10;\n",
        "SELECT p.name, AVG(r.rating) AS average_rating\n"
        "FROM products AS p\n"
        "JOIN reviews AS r ON r.product_id = p.id\n"
        "GROUP BY p.name\n"
        "HAVING COUNT(r.id) > 5;\n",
    ),
    "bash": (
        "set -euo pipefail\n"
        "for file in ./logs/*.log; do\n"
        '  gzip -k "$file"\n'
        '  echo "compressed $file"\n'
        "done\n",
        'backup_dir="$HOME/backups/$(date +%F)"\n'
        'mkdir -p "$backup_dir"\n'
        'rsync -a --delete ./data/ "$backup_dir/"\n'
        'echo "backup written to $backup_dir"\n',
    ),
    "typescript": (
        "export function debounce<T extends unknown[]>(fn: (...args: T) => void, ms: number) {\n"
        "  let timer: ReturnType<typeof setTimeout> | undefined;\n"
        "  return (...args: T) => {\n"
        "    clearTimeout(timer);\n"
        "    timer = setTimeout(() => fn(...args), ms);\n"
        "  };\n"
        "}\n",
        "interface User {\n"
        "  id: number;\n"
        "  name: string;\n"
        "}\n"
        "\n"
        "export function byName(users: User[]): User[] {\n"
        "  return [...users].sort((a, b) => a.name.localeCompare(b.name));\n"
        "}\n",
    ),
    "javascript": (
        "function debounce(fn, ms) {\n"
        "  let timer;\n"
        "  return (...args) => {\n"
        "    clearTimeout(timer);\n"
        "    timer = setTimeout(() => fn(...args), ms);\n"
        "  };\n"
        "}\n",
        "const total = items\n"
        "  .filter((item) => item.active)\n"
        "  .reduce((sum, item) => sum + item.price, 0);\n"
        "console.log(`total: ${total}`);\n",
    ),
    "go": (
        "func Sum(values []int) int {\n"
        "\ttotal := 0\n"
        "\tfor _, v := range values {\n"
        "\t\ttotal += v\n"
        "\t}\n"
        "\treturn total\n"
        "}\n",
    ),
    "rust": (
        "fn fibonacci(n: u64) -> u64 {\n"
        "    let (mut a, mut b) = (0, 1);\n"
        "    for _ in 0..n {\n"
        "        (a, b) = (b, a + b);\n"
        "    }\n"
        "    a\n"
        "}\n",
    ),
    "html": (
        '<button id="greet">Say hello</button>\n'
        "<script>\n"
        '  document.getElementById("greet").addEventListener("click", () => alert("hello"));\n'
        "</script>\n",
    ),
    # Any other language: C-like code reads as plausible in most of them.
    "other": (
        "int add(int a, int b) {\n    return a + b;\n}\n",
        "for (int i = 0; i < count; i++) {\n    total += values[i];\n}\n",
    ),
}

LANGUAGE_ALIASES = {
    "py": "python",
    "python3": "python",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
    "ts": "typescript",
    "tsx": "typescript",
    "js": "javascript",
    "jsx": "javascript",
    "node": "javascript",
    "postgres": "sql",
    "postgresql": "sql",
    "mysql": "sql",
    "sqlite": "sql",
    "golang": "go",
    "rs": "rust",
    "htm": "html",
    "xhtml": "html",
}
