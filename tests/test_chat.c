/* test_chat.c: chat templates. The hf-golden prompts (transformers' apply_chat_template with the
 * SmolLM2 and Llama-3 tokenizer_config.json templates) must be reproduced byte for byte from the
 * template found in those files; the table below holds prompts rendered with Jinja2 (trim_blocks,
 * lstrip_blocks and a tojson without ASCII escaping, as transformers sets it up) from the official
 * ChatML, SmolLM2, Qwen2.5-Instruct, Llama-3, Llama-3.2-Instruct (no strftime_now, so its
 * fallback date), Llama-2-chat and Mistral-7B-Instruct-v0.1 templates; NULL marks conversations
 * the template rejects. */
#include "check.h"
#include "smol.h"
#include "tok/chat.h"
#include <cjson/cJSON.h>

typedef struct chat_case {
    const char *tmpl;
    const smol_chat_message *msgs;
    size_t n;
    int gen;
    const char *want;
} chat_case;

static const smol_chat_message conv_one[] = {
    {"user", "Hello!"},
};
static const smol_chat_message conv_sys[] = {
    {"system", "  Be brief.\n"
        ""},
    {"user", " Hi there \n"
        ""},
    {"assistant", "Hello!  "},
    {"user", "2+2?"},
};
static const smol_chat_message conv_tool[] = {
    {"user", "What's the weather?"},
    {"assistant", "Let me check."},
    {"tool", "{\"temp\": 21}\n"
        ""},
    {"tool", "sunny\t\"dry\""},
    {"user", "Thanks"},
};
static const smol_chat_message conv_uni[] = {
    {"user", "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203"},
    {"assistant", "\342\200\250ok\302\205"},
};
static const smol_chat_message conv_bad[] = {
    {"assistant", "first"},
    {"user", "x"},
};
static const smol_chat_message conv_midsys[] = {
    {"user", "a"},
    {"system", "b"},
    {"user", "c"},
};
static const chat_case k_cases[] = {
    {"chatml", conv_one, 1, 0, "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        ""},
    {"chatml", conv_one, 1, 1, "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"chatml", conv_sys, 4, 0, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        ""},
    {"chatml", conv_sys, 4, 1, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"chatml", conv_tool, 5, 0, "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>tool\n"
        "{\"temp\": 21}\n"
        "<|im_end|>\n"
        "<|im_start|>tool\n"
        "sunny\t\"dry\"<|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        ""},
    {"chatml", conv_tool, 5, 1, "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>tool\n"
        "{\"temp\": 21}\n"
        "<|im_end|>\n"
        "<|im_start|>tool\n"
        "sunny\t\"dry\"<|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"chatml", conv_uni, 2, 0, "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        ""},
    {"chatml", conv_uni, 2, 1, "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"chatml", conv_bad, 2, 0, "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        ""},
    {"chatml", conv_bad, 2, 1, "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"chatml", conv_midsys, 3, 0, "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        ""},
    {"chatml", conv_midsys, 3, 1, "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_one, 1, 0, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        ""},
    {"smollm2", conv_one, 1, 1, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_sys, 4, 0, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        ""},
    {"smollm2", conv_sys, 4, 1, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_tool, 5, 0, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>tool\n"
        "{\"temp\": 21}\n"
        "<|im_end|>\n"
        "<|im_start|>tool\n"
        "sunny\t\"dry\"<|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        ""},
    {"smollm2", conv_tool, 5, 1, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>tool\n"
        "{\"temp\": 21}\n"
        "<|im_end|>\n"
        "<|im_start|>tool\n"
        "sunny\t\"dry\"<|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_uni, 2, 0, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        ""},
    {"smollm2", conv_uni, 2, 1, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_bad, 2, 0, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        ""},
    {"smollm2", conv_bad, 2, 1, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"smollm2", conv_midsys, 3, 0, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        ""},
    {"smollm2", conv_midsys, 3, 1, "<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"llama3", conv_one, 1, 0, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|>"},
    {"llama3", conv_one, 1, 1, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3", conv_sys, 4, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "2+2?<|eot_id|>"},
    {"llama3", conv_sys, 4, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3", conv_tool, 5, 0, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Let me check.<|eot_id|><|start_header_id|>tool<|end_header_id|>\n"
        "\n"
        "{\"temp\": 21}<|eot_id|><|start_header_id|>tool<|end_header_id|>\n"
        "\n"
        "sunny\t\"dry\"<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Thanks<|eot_id|>"},
    {"llama3", conv_tool, 5, 1, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Let me check.<|eot_id|><|start_header_id|>tool<|end_header_id|>\n"
        "\n"
        "{\"temp\": 21}<|eot_id|><|start_header_id|>tool<|end_header_id|>\n"
        "\n"
        "sunny\t\"dry\"<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Thanks<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3", conv_uni, 2, 0, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "h\303\251llo w\303\266rld<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "ok<|eot_id|>"},
    {"llama3", conv_uni, 2, 1, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "h\303\251llo w\303\266rld<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "ok<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3", conv_bad, 2, 0, "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "first<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "x<|eot_id|>"},
    {"llama3", conv_bad, 2, 1, "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "first<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "x<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3", conv_midsys, 3, 0, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "a<|eot_id|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "b<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "c<|eot_id|>"},
    {"llama3", conv_midsys, 3, 1, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "a<|eot_id|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "b<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "c<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_one, 1, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|>"},
    {"llama3.1", conv_one, 1, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_sys, 4, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "2+2?<|eot_id|>"},
    {"llama3.1", conv_sys, 4, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_tool, 5, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Let me check.<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
        "\n"
        "\"{\\\"temp\\\": 21}\\n\"<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
        "\n"
        "\"sunny\\t\\\"dry\\\"\"<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Thanks<|eot_id|>"},
    {"llama3.1", conv_tool, 5, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "Let me check.<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
        "\n"
        "\"{\\\"temp\\\": 21}\\n\"<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
        "\n"
        "\"sunny\\t\\\"dry\\\"\"<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "Thanks<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_uni, 2, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "h\303\251llo w\303\266rld<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "ok<|eot_id|>"},
    {"llama3.1", conv_uni, 2, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "h\303\251llo w\303\266rld<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "ok<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_bad, 2, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "first<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "x<|eot_id|>"},
    {"llama3.1", conv_bad, 2, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        "first<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "x<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"llama3.1", conv_midsys, 3, 0, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "a<|eot_id|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "b<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "c<|eot_id|>"},
    {"llama3.1", conv_midsys, 3, 1, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "Cutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n"
        "\n"
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "a<|eot_id|><|start_header_id|>system<|end_header_id|>\n"
        "\n"
        "b<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
        "\n"
        "c<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
        "\n"
        ""},
    {"qwen2.5", conv_one, 1, 0, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        ""},
    {"qwen2.5", conv_one, 1, 1, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "Hello!<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"qwen2.5", conv_sys, 4, 0, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        ""},
    {"qwen2.5", conv_sys, 4, 1, "<|im_start|>system\n"
        "  Be brief.\n"
        "<|im_end|>\n"
        "<|im_start|>user\n"
        " Hi there \n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Hello!  <|im_end|>\n"
        "<|im_start|>user\n"
        "2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"qwen2.5", conv_tool, 5, 0, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>user\n"
        "<tool_response>\n"
        "{\"temp\": 21}\n"
        "\n"
        "</tool_response>\n"
        "<tool_response>\n"
        "sunny\t\"dry\"\n"
        "</tool_response><|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        ""},
    {"qwen2.5", conv_tool, 5, 1, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "What's the weather?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Let me check.<|im_end|>\n"
        "<|im_start|>user\n"
        "<tool_response>\n"
        "{\"temp\": 21}\n"
        "\n"
        "</tool_response>\n"
        "<tool_response>\n"
        "sunny\t\"dry\"\n"
        "</tool_response><|im_end|>\n"
        "<|im_start|>user\n"
        "Thanks<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"qwen2.5", conv_uni, 2, 0, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        ""},
    {"qwen2.5", conv_uni, 2, 1, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "\343\200\200h\303\251llo w\303\266rld\302\240\342\200\203<|im_end|>\n"
        "<|im_start|>assistant\n"
        "\342\200\250ok\302\205<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"qwen2.5", conv_bad, 2, 0, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        ""},
    {"qwen2.5", conv_bad, 2, 1, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>assistant\n"
        "first<|im_end|>\n"
        "<|im_start|>user\n"
        "x<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"qwen2.5", conv_midsys, 3, 0, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        ""},
    {"qwen2.5", conv_midsys, 3, 1, "<|im_start|>system\n"
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "a<|im_end|>\n"
        "<|im_start|>system\n"
        "b<|im_end|>\n"
        "<|im_start|>user\n"
        "c<|im_end|>\n"
        "<|im_start|>assistant\n"
        ""},
    {"llama2", conv_one, 1, 0, "<s>[INST] Hello! [/INST]"},
    {"llama2", conv_one, 1, 1, "<s>[INST] Hello! [/INST]"},
    {"llama2", conv_sys, 4, 0, "<s>[INST] <<SYS>>\n"
        "  Be brief.\n"
        "\n"
        "<</SYS>>\n"
        "\n"
        " Hi there [/INST] Hello! </s><s>[INST] 2+2? [/INST]"},
    {"llama2", conv_sys, 4, 1, "<s>[INST] <<SYS>>\n"
        "  Be brief.\n"
        "\n"
        "<</SYS>>\n"
        "\n"
        " Hi there [/INST] Hello! </s><s>[INST] 2+2? [/INST]"},
    {"llama2", conv_tool, 5, 0, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"llama2", conv_tool, 5, 1, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"llama2", conv_uni, 2, 0, "<s>[INST] h\303\251llo w\303\266rld [/INST] ok </s>"},
    {"llama2", conv_uni, 2, 1, "<s>[INST] h\303\251llo w\303\266rld [/INST] ok </s>"},
    {"llama2", conv_bad, 2, 0, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"llama2", conv_bad, 2, 1, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"llama2", conv_midsys, 3, 0, "<s>[INST] a [/INST]<s>[INST] c [/INST]"},
    {"llama2", conv_midsys, 3, 1, "<s>[INST] a [/INST]<s>[INST] c [/INST]"},
    {"mistral", conv_one, 1, 0, "<s>[INST] Hello! [/INST]"},
    {"mistral", conv_one, 1, 1, "<s>[INST] Hello! [/INST]"},
    {"mistral", conv_sys, 4, 0, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_sys, 4, 1, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_tool, 5, 0, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_tool, 5, 1, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_uni, 2, 0, "<s>[INST] \343\200\200h\303\251llo w\303\266rld\302\240\342\200\203 [/INST]\342\200\250ok\302\205</s>"},
    {"mistral", conv_uni, 2, 1, "<s>[INST] \343\200\200h\303\251llo w\303\266rld\302\240\342\200\203 [/INST]\342\200\250ok\302\205</s>"},
    {"mistral", conv_bad, 2, 0, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_bad, 2, 1, NULL},  /* Conversation roles must alternate user/assistant/user/assistant/... */
    {"mistral", conv_midsys, 3, 0, NULL},  /* Only user and assistant roles are supported! */
    {"mistral", conv_midsys, 3, 1, NULL},  /* Only user and assistant roles are supported! */
};

/* Prints where got and want first differ. */
static int same_text(const char *what, const char *got, const char *want) {
    size_t i = 0;
    while (got[i] && got[i] == want[i]) i++;
    if (got[i] == want[i]) return 1;
    size_t from = i > 20 ? i - 20 : 0;
    fprintf(stderr, "%s: differs at byte %zu:\n  got  ...%.50s\n  want ...%.50s\n", what, i, got + from, want + from);
    return 0;
}

static void test_official_templates(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const chat_case *c = &k_cases[i];
        char *out = NULL, what[64];
        smol_error err = {0};
        int rc = smol_chat_apply(c->tmpl, c->msgs, c->n, c->gen, &out, &err);
        snprintf(what, sizeof what, "case %zu (%s, gen %d)", i, c->tmpl, c->gen);
        if (!c->want) CHECK(rc == SMOL_EINVAL && out == NULL && strstr(err.msg, c->tmpl), "%s: rc %d '%s'", what, rc, err.msg);
        else {
            CHECK(rc == SMOL_OK, "%s: %s", what, err.msg);
            if (rc == SMOL_OK) CHECK(same_text(what, out, c->want), "%s", what);
        }
        free(out);
    }
}

/* The hf-golden conversations, through the template read from tokenizer_config.json. */
static void check_golden(const char *tok_dir, const char *golden, const char *want_name) {
    char *src = NULL, *text = NULL;
    size_t len;
    const char *name;
    smol_error err;
    REQUIRE(smol_chat_template_load(test_data(tok_dir), &src, &err) == SMOL_OK, "%s", err.msg);
    REQUIRE(smol_chat_template_detect(src, &name, &err) == SMOL_OK, "%s", err.msg);
    CHECK(strcmp(name, want_name) == 0, "%s detected as %s", tok_dir, name);
    FILE *fp = fopen(test_data(golden), "rb");
    REQUIRE(fp, "open %s", golden);
    fseek(fp, 0, SEEK_END);
    len = (size_t)ftell(fp);
    rewind(fp);
    text = malloc(len + 1);
    REQUIRE(text && fread(text, 1, len, fp) == len, "read");
    fclose(fp);
    text[len] = 0;
    cJSON *root = cJSON_Parse(text);
    REQUIRE(cJSON_IsArray(root), "%s is not a JSON array", golden);
    int k = 0;
    for (const cJSON *c = root->child; c; c = c->next, k++) {
        const cJSON *msgs = cJSON_GetObjectItem(c, "messages");
        char *mj = cJSON_PrintUnformatted(msgs);
        smol_chat_messages m;
        REQUIRE(smol_chat_messages_parse(mj, strlen(mj), golden, &m, &err) == SMOL_OK, "%s", err.msg);
        char *out = NULL, what[300];
        int gen = cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt"));
        snprintf(what, sizeof what, "%s conversation %d", golden, k);
        CHECK(smol_chat_apply(name, m.msgs, m.n, gen, &out, &err) == SMOL_OK, "%s", err.msg);
        if (out) CHECK(same_text(what, out, cJSON_GetObjectItem(c, "prompt")->valuestring), "%s", what);
        free(out);
        free(mj);
        smol_chat_messages_free(&m);
    }
    CHECK(k == 6, "%s: %d conversations", golden, k);
    cJSON_Delete(root);
    free(text);
    free(src);
}

static void test_hf_golden_smollm2(void) {
    check_golden("tokenizers/SmolLM2-135M-Instruct", "hf-golden/tokenizers/smollm2.chat.json", "smollm2");
}

static void test_hf_golden_llama3(void) {
    check_golden("tokenizers/llama3-8b-instruct-hf/tokenizer.json", "hf-golden/tokenizers/llama3.chat.json", "llama3");
}

static void test_detect(void) {
    struct { const char *src, *want; } cases[] = {
        {"{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}", "chatml"},
        {"{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>' }}", "qwen2.5"},
        {"{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{ '<|start_header_id|>' }}", "llama3.1"},
        {"{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{{ '<<SYS>>\\n' }}", "llama2"},
        {"{{ '[INST] ' + message['content'] + ' [/INST]' }}{{ raise_exception('Only user and assistant roles are supported!') }}",
         "mistral"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name = NULL;
        smol_error err;
        CHECK(smol_chat_template_detect(cases[i].src, &name, &err) == SMOL_OK && strcmp(name, cases[i].want) == 0,
              "case %zu: %s", i, name ? name : err.msg);
    }
    const char *name;
    smol_error err;
    int rc = smol_chat_template_detect("{{ '<start_of_turn>' + role }}", &name, &err);
    CHECK(rc == SMOL_EUNSUPPORTED && strstr(err.msg, "<start_of_turn>") && strstr(err.msg, "llama3.1") &&
          strstr(err.msg, "--chat-template"), "unknown: %d %s", rc, err.msg);
    /* Mistral v0.3's template (system merged into the first [INST]) is not the v0.1 one */
    rc = smol_chat_template_detect("{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}", &name, &err);
    CHECK(rc == SMOL_EUNSUPPORTED, "mistral v0.3 must not pass as v0.1");
    char *out = NULL;
    smol_chat_message m = {"user", "hi"};
    rc = smol_chat_apply("vicuna", &m, 1, true, &out, &err);
    CHECK(rc == SMOL_EINVAL && out == NULL && strstr(err.msg, "vicuna") && strstr(err.msg, "smollm2"), "%s", err.msg);
    const char *const *names = smol_chat_template_names();
    int count = 0;
    for (; names[count]; count++) {
        CHECK(smol_chat_apply(names[count], &m, 1, true, &out, &err) == SMOL_OK, "%s: %s", names[count], err.msg);
        free(out);
    }
    CHECK(count == 7, "%d names", count);
}

static const char *write_text(const char *name, const char *text) {
    const char *path = test_tmp(name);
    FILE *fp = fopen(path, "w");
    if (!fp) return NULL;
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void test_template_load(void) {
    smol_error err;
    char *src = NULL;
    /* a list of named templates: "default" is taken */
    const char *cfg = write_text("tokenizer_config.json",
                                 "{\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"T\"},"
                                 "{\"name\":\"default\",\"template\":\"D\"}]}");
    REQUIRE(cfg, "write");
    CHECK(smol_chat_template_load(cfg, &src, &err) == SMOL_OK && src && strcmp(src, "D") == 0, "list: %s", err.msg);
    free(src);
    write_text("tokenizer_config.json", "{\"bos_token\":\"<s>\"}");
    CHECK(smol_chat_template_load(cfg, &src, &err) == SMOL_ENOTFOUND && strstr(err.msg, "chat_template"), "%s", err.msg);
    write_text("tokenizer_config.json", "{\"chat_template\": 3}");
    CHECK(smol_chat_template_load(cfg, &src, &err) == SMOL_EFORMAT, "%s", err.msg);
    remove(cfg);
    CHECK(smol_chat_template_load(test_data("hf-golden"), &src, &err) == SMOL_ENOTFOUND &&
          strstr(err.msg, "tokenizer_config.json"), "folder without one: %s", err.msg);
    /* a GGUF with tokenizer.chat_template */
    smol_gguf_writer *w = smol_gguf_writer_new();
    REQUIRE(w, "writer");
    REQUIRE(smol_gguf_writer_set_str(w, "general.architecture", "llama", &err) == SMOL_OK, "%s", err.msg);
    REQUIRE(smol_gguf_writer_set_str(w, "tokenizer.chat_template", "{{ '<|im_start|>' }}", &err) == SMOL_OK, "%s", err.msg);
    const char *gpath = test_tmp("chat.gguf");
    REQUIRE(smol_gguf_writer_write(w, gpath, &err) == SMOL_OK, "%s", err.msg);
    smol_gguf_writer_free(w);
    CHECK(smol_chat_template_load(gpath, &src, &err) == SMOL_OK && src && strcmp(src, "{{ '<|im_start|>' }}") == 0,
          "gguf: %s", err.msg);
    free(src);
    remove(gpath);
}

static void test_messages_parse(void) {
    smol_chat_messages m;
    smol_error err;
    const char *obj = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null}]}";
    REQUIRE(smol_chat_messages_parse(obj, strlen(obj), "in", &m, &err) == SMOL_OK, "%s", err.msg);
    CHECK(m.n == 2 && strcmp(m.msgs[0].content, "a") == 0 && strcmp(m.msgs[1].content, "") == 0, "object form");
    smol_chat_messages_free(&m);
    struct { const char *text, *want; } bad[] = {
        {"[{\"role\":\"user\",\"content\":\"a\"},\n{\"role\" \"user\"}]", "line 2"},
        {"[{\"content\":\"a\"}]", "message 0 has no string \"role\""},
        {"[{\"role\":\"user\"},{}]", "message 0 has no string \"content\""},
        {"{\"msgs\":[]}", "\"messages\""},
        {"[1]", "message 0 is not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = smol_chat_messages_parse(bad[i].text, strlen(bad[i].text), "conv.json", &m, &err);
        CHECK(rc == SMOL_EFORMAT && strstr(err.msg, bad[i].want) && strstr(err.msg, "conv.json"), "case %zu: %s", i,
              err.msg);
    }
}

int main(void) {
    RUN(test_official_templates);
    RUN(test_hf_golden_smollm2);
    RUN(test_hf_golden_llama3);
    RUN(test_detect);
    RUN(test_template_load);
    RUN(test_messages_parse);
    return check_done();
}
