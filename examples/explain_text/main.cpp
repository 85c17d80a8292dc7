// The explain_text lesson: explainability for NLP, after a summer school's lab. A text CNN and a BiLSTM
// on 3,000 real review sentences; token attributions (gradients w.r.t. the embeddings, occlusion, Shapley
// value sampling, LIME) as heat maps; the lab's faithfulness and stability; Atanasova et al.'s diagnostic
// properties; explanation-guided adversarial edits with WordNet synonyms; TX-Ray's filter analysis.
//
//   build/examples/explain_text                              # writes out/explain_text/{index.html, summary.json, *.png}
//   build/examples/explain_text --text "The food was great"  # also explains your sentence, first
//
// Steps: 1. models (models.cpp); 2. heat maps (attributions.cpp, methods.cpp); 3. faithfulness and
// stability (lab_evaluations.cpp); 4. diagnostic properties (diagnostics.cpp); 5. adversarial edits
// (adversarial.cpp); 6. TX-Ray (txray.cpp).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "examples/cli.h"
#include "examples/explain_text/steps.h"
#include "examples/lesson.h"

using namespace lumen;
using namespace lumen::explain_text;

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Explainability for NLP: a text CNN and a BiLSTM on real review sentences; token attributions as heat "
               "maps, the lab's faithfulness and stability, Atanasova et al.'s diagnostic properties, "
               "explanation-guided adversarial edits and TX-Ray's filter analysis"};
  app.add_option("--data", o.data_dir, "data directory holding sentiment/ and wordnet/ (scripts/get_data.sh)")
      ->capture_default_str();
  app.add_option("--out", o.out_dir, "where figures, summary.json and index.html go (created; checked first)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the models and of every random draw")->check(cli::seed())->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  app.add_option("--text", o.texts, "a sentence to explain with every method (repeat for several); shown first");
  app.add_option("--embedding-dim", o.embedding_dim, "models: dimension of the token embeddings")
      ->check(cli::integer(2, 1024))->capture_default_str();
  app.add_option("--embedding-std", o.embedding_std,
                 "models: the embeddings start N(0, std²) (PyTorch's default is 1, which lr 1e-3 barely moves)")
      ->check(cli::positive(10))->capture_default_str();
  app.add_option("--min-count", o.min_count, "vocabulary: training tokens seen fewer times become <unk>")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--lstm-hidden", o.lstm_hidden, "BiLSTM: hidden size per direction")->check(cli::integer(1, 1024))
      ->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "models: sentences per training step")->check(cli::integer(1, 4096))
      ->capture_default_str();
  app.add_option("--max-len", o.max_len, "models: tokens kept per sentence")->check(cli::integer(4, 1000))
      ->capture_default_str();
  app.add_option("--cnn-epochs", o.cnn_epochs, "text CNN: training epochs")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--lstm-epochs", o.lstm_epochs, "BiLSTM: training epochs")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--bow-steps", o.bow_steps, "bag-of-words baseline: full-batch AdamW steps")
      ->check(cli::integer(1, 100000))->capture_default_str();
  app.add_option("--lr", o.lr, "models: AdamW learning rate")->check(cli::positive(10))->capture_default_str();
  app.add_option("--model-seeds", o.model_seeds, "models trained per architecture (the diagnostic properties' seeds)")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--random-models", o.random_models, "untrained models per architecture (rationale consistency)")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--eval-sentences", o.eval_sentences, "test sentences the evaluations use")
      ->check(cli::integer(10, 600))->capture_default_str();
  app.add_option("--ig-steps", o.ig_steps, "IG: integration steps")->check(cli::integer(1, 10000))->capture_default_str();
  app.add_option("--shapley-samples", o.shapley_samples, "Shapley value sampling: permutations per sentence")
      ->check(cli::integer(1, 10000))->capture_default_str();
  app.add_option("--lime-samples", o.lime_samples, "LIME: perturbed sentences per explanation")
      ->check(cli::integer(10, 100000))->capture_default_str();
  app.add_option("--heatmap-sentences", o.heatmap_sentences, "test sentences shown as heat maps")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--faithfulness-k", o.faithfulness_top_k, "the lab's faithfulness: top tokens replaced by <unk>")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--adversarial-sentences", o.adversarial_sentences, "adversarial edits: test sentences edited")
      ->check(cli::integer(1, 600))->capture_default_str();
  app.add_option("--txray-epochs", o.txray_epochs, "TX-Ray: epochs of the small CNN on amazon")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--finetune-epochs", o.finetune_epochs, "TX-Ray: epochs of fine-tuning on yelp")
      ->check(cli::integer(1, 1000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  if (!cli::prepare_output_dir("explain_text", o.out_dir)) return 1;  // before the minutes of work
  const auto t_start = std::chrono::steady_clock::now();

  try {
    report::Report r(o.out_dir, "Explainability for NLP: token attributions, diagnostic properties, TX-Ray",
                     "<p>Every number, heat map and figure on this page was produced by <code>examples/explain_text</code> "
                     "(lumen) in this run, on the labelled review sentences of <code>sentiment@5.0.2</code>.</p>\n");
    Lesson l = train_models(o, r);
    token_attributions(l, r);
    lab_evaluations(l, r);
    diagnostic_properties(l, r);
    adversarial_edits(l, r);
    txray(l, r);

    const std::string seconds = r.number({"seconds"}, lesson::seconds_since(t_start), "%.1f", " s");
    const std::string threads = r.count({"threads"}, omp_get_max_threads());
    r.paragraph("Whole run: " + seconds + " on " + threads + " thread(s).");
    r.headline("text CNN macro-F1", {"models", "cnn", "macro_f1"});
    r.headline("BiLSTM macro-F1", {"models", "bilstm", "macro_f1"});
    r.headline("bag-of-words macro-F1", {"models", "bow", "macro_f1"});
    r.headline("text CNN flipped by IG-guided synonym edits", {"adversarial", "cnn", "explanation", "success_rate"});
    r.write();
    r.say("\nwrote " + o.out_dir + "/index.html, summary.json and its figures in " + seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "explain_text: %s\n", e.what());
    return 1;
  }
  return cli::finish("explain_text");
}
