"""BibTeX for the paper behind each metric (``Comparison.cite()``, ``diversity cite``)."""

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
}

# metric name prefix -> citation keys
METRIC_REFERENCES: dict[str, tuple[str, ...]] = {
    "distinct": ("li2016diversity",),
    "ead": ("liu2022rethinking",),
    "ngram-entropy": ("zhang2018generating",),
    "unique-fraction": ("zhang2025noveltybench",),
    "compression-ratio": ("shaib2024standardizing",),
    "self-bleu": ("zhu2018texygen",),
    "homogenization": ("padmakumar2024homogenization",),
    "mean-pairwise-distance": ("tevet2021evaluating", "kirk2024understanding"),
    "centroid-distance": ("kirk2024understanding",),
    "remote-clique": ("cox2021directed",),
    "chamfer": ("cox2021directed",),
    "vendi": ("friedman2023vendi",),
    "semantic-clusters": ("zhang2025noveltybench",),
    "semantic-entropy": ("kuhn2023semantic",),
}


def references_for(metric_name: str) -> tuple[str, ...]:
    for prefix in sorted(METRIC_REFERENCES, key=len, reverse=True):
        if metric_name.startswith(prefix):
            return METRIC_REFERENCES[prefix]
    return ()


def bibtex(metric_names) -> str:
    """BibTeX entries for the given metric names (deduplicated, in order)."""
    keys: list[str] = []
    for name in metric_names:
        for k in references_for(name):
            if k not in keys:
                keys.append(k)
    return "\n\n".join(CITATIONS[k] for k in keys)
