"""A torch module whose constructor arguments are its config, saved and loaded as a folder of JSON and safetensors.

A model folder holds config.json (`_class_name` and every constructor argument) and
diffusion_pytorch_model.safetensors (the state dict): the layout diffusers' ModelMixin writes, so the checkpoints
trained with it load unchanged. The models keep that layout but not diffusers itself: importing diffusers pulls
torch._dynamo, scipy.stats and transformers, about 2.4 s of every process that renders with the learned generator.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"


class ModelConfig(Mapping):
    """A model's constructor arguments: a read-only mapping that also reads as attributes (`config.latent_dim`)."""

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"config is read-only: build another model with from_config({{**config, {name!r}: ...}})")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle probe private names before _values exists
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"config has no {name!r}; it has {', '.join(self._values)}") from None

    def __repr__(self) -> str:
        return f"ModelConfig({self._values!r})"


class ConfiguredModule(nn.Module):
    """Base of a module whose `__init__` arguments (defaults filled in) are recorded as its `config`."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self, *args, **kwargs):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            init(self, *args, **kwargs)
            # Set after init: a subclass's own arguments replace those its parent's __init__ recorded.
            self._config = ModelConfig({k: v for k, v in bound.arguments.items() if k != "self"})

        cls.__init__ = recording_init

    @property
    def config(self) -> ModelConfig:
        """The constructor arguments this module was built with."""
        return self._config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]):
        """A freshly initialised module built with these constructor arguments."""
        return cls(**config)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write config.json and the weights (safetensors) into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"_class_name": type(self).__name__, **self.config}
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        state = {name: tensor.detach().contiguous() for name, tensor in self.state_dict().items()}
        save_file(state, folder / WEIGHTS_NAME, metadata={"format": "pt"})
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path):
        """Load a folder written by save_pretrained (or by diffusers' ModelMixin), in eval mode."""
        folder = Path(folder)
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{folder}: no {path.name}; point to a {cls.__name__} folder written by save_pretrained"
                )
        stored = json.loads(config_path.read_text())
        if stored.get("_class_name", cls.__name__) != cls.__name__:
            raise ValueError(
                f"{folder}: holds a {stored['_class_name']}, not a {cls.__name__}; point to the {cls.__name__} folder"
            )
        config = {k: v for k, v in stored.items() if not k.startswith("_")}  # _diffusers_version, _name_or_path
        unknown = sorted(set(config) - set(inspect.signature(cls.__init__).parameters))
        if unknown:
            raise ValueError(
                f"{folder}: config.json has settings {cls.__name__} does not take: {unknown}; it was "
                "written by other code, retrain or fix the file"
            )
        model = cls(**config)
        weights = load_file(weights_path)
        expected = model.state_dict()
        missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"{folder}: the weights do not fit its config.json (missing {missing[:5]}, unexpected "
                f"{unexpected[:5]}); the folder is damaged or mixed, save it again"
            )
        shapes = [name for name, tensor in weights.items() if tensor.shape != expected[name].shape]
        if shapes:
            raise ValueError(
                f"{folder}: weights {shapes[:5]} have other shapes than its config.json makes; the "
                "folder is damaged or mixed, save it again"
            )
        model.load_state_dict(weights, strict=True)
        return model.eval()
