"""BibTeX for the paper behind each metric: the single source of citations.

Metric classes name their references by key (``Metric.references``);
``diversity cite``, ``Comparison.cite()``, the docstrings' References sections
and the metric cards in ``docs/metrics/`` all draw on :data:`CITATIONS` (a test
checks that every card's BibTeX equals the entry here and that every
registered metric has at least one reference)."""

from __future__ import annotations

CITATIONS: dict[str, str] = {
    "li2016diversity": """@inproceedings{li2016diversity,
  title={A Diversity-Promoting Objective Function for Neural Conversation Models},
  author={Li, Jiwei and Galley, Michel and Brockett, Chris and Gao, Jianfeng and Dolan, Bill},
  booktitle={Proceedings of NAACL-HLT}, pages={110--119}, year={2016}
}""",
    "liu2022rethinking": """@inproceedings{liu2022rethinking,
  title={Rethinking and Refining the Distinct Metric},
  author={Liu, Siyang and Sabour, Sahand and Zheng, Yinhe and Ke, Pei and Zhu, Xiaoyan and Huang, Minlie},
  booktitle={Proceedings of ACL}, year={2022}
}""",
    "zhang2018generating": """@inproceedings{zhang2018generating,
  title={Generating Informative and Diverse Conversational Responses via Adversarial Information Maximization},
  author={Zhang, Yizhe and Galley, Michel and Gao, Jianfeng and Gan, Zhe and Li, Xiujun and Brockett, Chris and Dolan, Bill},
  booktitle={Advances in Neural Information Processing Systems}, year={2018}
}""",
    "zhang2025noveltybench": """@article{zhang2025noveltybench,
  title={NoveltyBench: Evaluating Language Models for Humanlike Diversity},
  author={Zhang, Yiming and Diddee, Harshita and Holm, Susan and Liu, Hanchen and Liu, Xinyue and Samuel, Vinay and Wang, Barry and Ippolito, Daphne},
  journal={arXiv preprint arXiv:2504.05228}, year={2025}
}""",
    "shaib2024standardizing": """@article{shaib2024standardizing,
  title={Standardizing the Measurement of Text Diversity: A Tool and a Comparative Analysis of Scores},
  author={Shaib, Chantal and Barrow, Joe and Sun, Jiuding and Siu, Alexa F. and Wallace, Byron C. and Nenkova, Ani},
  journal={arXiv preprint arXiv:2403.00553}, year={2024}
}""",
    "zhu2018texygen": """@inproceedings{zhu2018texygen,
  title={Texygen: A Benchmarking Platform for Text Generation Models},
  author={Zhu, Yaoming and Lu, Sidi and Zheng, Lei and Guo, Jiaxian and Zhang, Weinan and Wang, Jun and Yu, Yong},
  booktitle={Proceedings of SIGIR}, year={2018}
}""",
    "padmakumar2024homogenization": """@inproceedings{padmakumar2024homogenization,
  title={Does Writing with Language Models Reduce Content Diversity?},
  author={Padmakumar, Vishakh and He, He},
  booktitle={International Conference on Learning Representations}, year={2024}
}""",
    "tevet2021evaluating": """@inproceedings{tevet2021evaluating,
  title={Evaluating the Evaluation of Diversity in Natural Language Generation},
  author={Tevet, Guy and Berant, Jonathan},
  booktitle={Proceedings of EACL}, year={2021}
}""",
    "kirk2024understanding": """@inproceedings{kirk2024understanding,
  title={Understanding the Effects of {RLHF} on {LLM} Generalisation and Diversity},
  author={Kirk, Robert and Mediratta, Ishita and Nalmpantis, Christoforos and Luketina, Jelena and Hambro, Eric and Grefenstette, Edward and Raileanu, Roberta},
  booktitle={International Conference on Learning Representations}, year={2024}
}""",
    "cox2021directed": """@inproceedings{cox2021directed,
  title={Directed Diversity: Leveraging Language Embedding Distances for Collective Creativity in Crowd Ideation},
  author={Cox, Samuel Rhys and Wang, Yunlong and Abdul, Ashraf and von der Weth, Christian and Lim, Brian Y.},
  booktitle={Proceedings of CHI}, year={2021}, doi={10.1145/3411764.3445782}
}""",
    "friedman2023vendi": """@article{friedman2023vendi,
  title={The Vendi Score: A Diversity Evaluation Metric for Machine Learning},
  author={Friedman, Dan and Dieng, Adji Bousso},
  journal={Transactions on Machine Learning Research}, year={2023}
}""",
    "kuhn2023semantic": """@inproceedings{kuhn2023semantic,
  title={Semantic Uncertainty: Linguistic Invariances for Uncertainty Estimation in Natural Language Generation},
  author={Kuhn, Lorenz and Gal, Yarin and Farquhar, Sebastian},
  booktitle={International Conference on Learning Representations}, year={2023}
}""",
    "mohammadi2024creativity": """@article{mohammadi2024creativity,
  title={Creativity Has Left the Chat: The Price of Debiasing Language Models},
  author={Mohammadi, Behnam},
  journal={arXiv preprint arXiv:2406.05587}, year={2024}
}""",
    "yang2025branching": """@article{yang2025branching,
  title={How Alignment Shrinks the Generative Horizon},
  author={Yang, Chenghao and Holtzman, Ari},
  journal={arXiv preprint arXiv:2506.17871}, year={2025}
}""",
    "gehrmann2021gem": """@inproceedings{gehrmann2021gem,
  title={The {GEM} Benchmark: Natural Language Generation, its Evaluation and Metrics},
  author={Gehrmann, Sebastian and others},
  booktitle={Proceedings of the 1st Workshop on Natural Language Generation, Evaluation, and Metrics (GEM)}, year={2021}
}""",
    "papineni2002bleu": """@inproceedings{papineni2002bleu,
  title={{BLEU}: a Method for Automatic Evaluation of Machine Translation},
  author={Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing},
  booktitle={Proceedings of ACL}, pages={311--318}, year={2002}
}""",
    "lin2004rouge": """@inproceedings{lin2004rouge,
  title={{ROUGE}: A Package for Automatic Evaluation of Summaries},
  author={Lin, Chin-Yew},
  booktitle={Text Summarization Branches Out}, pages={74--81}, year={2004}
}""",
    "pasarkar2023cousins": """@article{pasarkar2023cousins,
  title={Cousins of the Vendi Score: A Family of Similarity-Based Diversity Metrics for Science and Machine Learning},
  author={Pasarkar, Amey P. and Dieng, Adji Bousso},
  journal={arXiv preprint arXiv:2310.12952}, year={2023}
}""",
    "hill1973diversity": """@article{hill1973diversity,
  title={Diversity and Evenness: A Unifying Notation and Its Consequences},
  author={Hill, Mark O.},
  journal={Ecology}, volume={54}, number={2}, pages={427--432}, year={1973}
}""",
    "chao2003nonparametric": """@article{chao2003nonparametric,
  title={Nonparametric estimation of Shannon's index of diversity when there are unseen species in sample},
  author={Chao, Anne and Shen, Tsung-Jen},
  journal={Environmental and Ecological Statistics}, volume={10}, number={4}, pages={429--443}, year={2003}
}""",
    "simpson1949measurement": """@article{simpson1949measurement,
  title={Measurement of Diversity},
  author={Simpson, Edward H.},
  journal={Nature}, volume={163}, pages={688}, year={1949}
}""",
    "covington2010cutting": """@article{covington2010cutting,
  title={Cutting the {G}ordian Knot: The Moving-Average Type-Token Ratio ({MATTR})},
  author={Covington, Michael A. and McFall, Joe D.},
  journal={Journal of Quantitative Linguistics}, volume={17}, number={2}, pages={94--100}, year={2010}
}""",
    "lake2024distributional": """@article{lake2024distributional,
  title={From Distributional to Overton Pluralism: Investigating Large Language Model Alignment},
  author={Lake, Thom and Choi, Eunsol and Durrett, Greg},
  journal={arXiv preprint arXiv:2406.17692}, year={2024}
}""",
    "jiang2025hivemind": """@article{jiang2025hivemind,
  title={Artificial Hivemind: The Open-Ended Homogeneity of Language Models (and Beyond)},
  author={Jiang, Liwei and others},
  journal={arXiv preprint arXiv:2510.22954}, year={2025}
}""",
    "rottger2024xstest": """@inproceedings{rottger2024xstest,
  title={{XSTest}: A Test Suite for Identifying Exaggerated Safety Behaviours in Large Language Models},
  author={R{\\"o}ttger, Paul and Kirk, Hannah Rose and Vidgen, Bertie and Attanasio, Giuseppe and Bianchi, Federico and Hovy, Dirk},
  booktitle={Proceedings of NAACL}, year={2024}
}""",
    "shypula2025evaluating": """@article{shypula2025evaluating,
  title={Evaluating the Diversity and Quality of {LLM} Generated Content},
  author={Shypula, Alexander and Li, Shuo and Zhang, Botong and Padmakumar, Vishakh and Yin, Kayo and Bastani, Osbert},
  journal={arXiv preprint arXiv:2504.12522}, year={2025}
}""",
    "salkar2022self": """@inproceedings{salkar2022self,
  title={Self-Repetition in Abstractive Neural Summarizers},
  author={Salkar, Nikita and Trikalinos, Thomas and Wallace, Byron C. and Nenkova, Ani},
  booktitle={Proceedings of AACL-IJCNLP}, year={2022}
}""",
    "reimers2019sentence": """@inproceedings{reimers2019sentence,
  title={Sentence-{BERT}: Sentence Embeddings using Siamese {BERT}-Networks},
  author={Reimers, Nils and Gurevych, Iryna},
  booktitle={Proceedings of EMNLP-IJCNLP}, year={2019}
}""",
}


LIBRARY_KEY = "diversity"  # `diversity cite diversity`: the library itself (CITATION.cff says the same)


def library_bibtex() -> str:
    """BibTeX of the library itself, at this version (the fields of ``CITATION.cff``: a test keeps them equal)."""
    from .._version import __version__

    return f"""@software{{diversity,
  title={{diversity: exact, fast, citable output-diversity metrics for language-model completions}},
  author={{{{The diversity developers}}}},
  version={{{__version__}}}, note={{Python package llm-diversity, version {__version__}}},
  url={{https://github.com/diversity-metrics/diversity}}
}}"""


def reference_line(key: str) -> str:
    """One line for a reader, from the BibTeX entry: "Authors (year). Title. Venue."."""
    import re

    entry = library_bibtex() if key == LIBRARY_KEY else CITATIONS[key]

    def field(name: str) -> str:
        m = re.search(rf"\b{name}=\{{((?:[^{{}}]|\{{[^{{}}]*\}})*)\}}", entry)
        text = m.group(1) if m else ""
        for tex, char in (('{\\"o}', "ö"), ('{\\"u}', "ü"), ('{\\"a}', "ä"), ("{\\'e}", "é")):
            text = text.replace(tex, char)
        return re.sub(r"[{}]", "", text)

    names = [a.split(",")[0].strip() if "," in a else a.split()[-1] for a in field("author").split(" and ") if a.strip()]
    who = f"{names[0]} et al." if len(names) > 2 or "others" in names else " and ".join(names)
    if key == LIBRARY_KEY:
        who = "The diversity developers"
    title = field("title")
    venue = field("journal") or field("booktitle") or field("note")
    year = field("year")
    return f"{who}{f' ({year})' if year else ''}. {title}{'' if title.endswith(('?', '!')) else '.'} {venue}.".replace("..", ".")


def references_for(spec: str) -> tuple[str, ...]:
    """Citation keys of the metric a spec names (empty for a name that is not a spec)."""
    import warnings

    from ..core.registry import from_spec

    for name in (spec, spec.split("[")[0]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return tuple(from_spec(name).references)
        except (ValueError, TypeError):
            continue
    return ()


def bibtex_for(specs, extra=()) -> str:
    """BibTeX entries for the metrics named by ``specs`` (deduplicated, in order), then ``extra`` keys."""
    keys: list[str] = []
    for spec in specs:
        for k in references_for(spec):
            if k not in keys:
                keys.append(k)
    keys += [k for k in extra if k not in keys]
    return "\n\n".join(CITATIONS[k] for k in keys)


def bibtex(metric_names) -> str:
    """BibTeX entries for the given metric specs (deduplicated, in order)."""
    return bibtex_for(metric_names)
