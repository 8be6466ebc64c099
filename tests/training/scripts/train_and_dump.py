"""Run `tf_lm.training.train` in this process and dump the final weights (a test helper).

usage: train_and_dump.py CONFIG_JSON RUN_DIR OUT_NPZ [--logical-cpus N]
"""

import json
import sys

import numpy as np


def main():
    config_path, run_dir, out = sys.argv[1:4]
    if "--logical-cpus" in sys.argv:
        import tensorflow as tf

        count = int(sys.argv[sys.argv.index("--logical-cpus") + 1])
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    from tf_lm.config import Config
    from tf_lm.training import train

    result = train(Config.from_file(config_path), run_dir, verbose=0, echo=lambda *a: None)
    weights = {f"w{i}": np.asarray(w) for i, w in enumerate(result.model.weights)}
    np.savez(out, **weights)
    print(json.dumps({"status": result.status, "steps": result.steps,
                      "val_loss": result.val_loss}))


if __name__ == "__main__":
    main()
