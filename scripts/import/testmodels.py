"""Small torch models for the conversion checks (scripts/import/check_models.py); also a file to pass to
scripts/import_model.py --torch (--class SmallCNN or SmallViT)."""
import torch
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer


class SmallCNN(nn.Module):
    """A small residual CNN: conv-bn-relu stem, max pool, a residual block, a strided conv-bn-relu, global
    average pooling and a linear head; input 3x64x64."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block1 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = torch.relu(x + self.block1(x))
        x = self.block2(x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SmallViT(VisionTransformer):
    """torchvision's VisionTransformer, small: 64x64 input, patch 16 (4x4 = 16 patches and a class token),
    4 layers, 4 heads, width 128, MLP 256, 10 classes."""

    def __init__(self, classes=10):
        super().__init__(image_size=64, patch_size=16, num_layers=4, num_heads=4, hidden_dim=128, mlp_dim=256,
                         num_classes=classes)
        # torchvision starts the head at zero (logits all 0 until trained): random weights instead, so that the
        # checks compare non-zero logits and gradients.
        nn.init.normal_(self.heads.head.weight, std=self.hidden_dim ** -0.5)
        nn.init.normal_(self.heads.head.bias, std=0.1)
