"""A Keras-style training loop on top of pyautodiff:

    from pyautodiff.train import Trainer, EarlyStopping
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                      metrics=["accuracy"], callbacks=[EarlyStopping(patience=2)])
    history = trainer.fit((X, y), epochs=10, val_data=(Xv, yv), batch_size=32)
    trainer.evaluate((Xt, yt)); trainer.predict(Xt)
"""
from .callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler,
                        ModelCheckpoint, ProgressBar)
from .metrics import MAE, RMSE, Accuracy, FunctionMetric, Metric, TopKAccuracy, get_metric
from .trainer import History, Trainer, clip_grad_norm

__all__ = ["Trainer", "History", "clip_grad_norm", "Callback", "LambdaCallback", "EarlyStopping",
           "CSVLogger", "ProgressBar", "LearningRateScheduler", "ModelCheckpoint", "Metric", "Accuracy",
           "TopKAccuracy", "MAE", "RMSE", "FunctionMetric", "get_metric"]
